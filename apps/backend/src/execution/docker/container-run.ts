import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { Container, ContainerCreateOptions } from 'dockerode';
import type { Logger } from 'pino';
import type { SandboxEvent, SandboxRunRequest } from '@policy-logic-studio/shared';
import type { RunOptions, RunnerOutcome } from '../runner.js';
import {
  crashedError,
  engineErrorReason,
  isAlreadyRemoved,
  memoryLimitError,
  startFailureError,
} from './engine-errors.js';
import { EventLineParser, LineTooLongError } from './event-lines.js';
import { memoryToBytes, type SandboxLimits } from './limits.js';

/** Label on every sandbox container, so leftovers can be found and removed. */
export const SANDBOX_CONTAINER_LABEL = 'policy-logic-studio.sandbox';
export const RUN_ID_LABEL = 'policy-logic-studio.run-id';

/** Exit status of a process killed by SIGKILL (128 + 9). */
const SIGKILL_EXIT_CODE = 137;
/** How long the interpreter may linger after its last event (a non-daemon thread, say). */
const EXIT_GRACE_MS = 2_000;
/** How long the engine gets to confirm removal of a killed container. */
const REMOVAL_WAIT_MS = 10_000;
const STDERR_TAIL_CHARS = 8_192;
/** How long output may keep arriving after the container is gone. */
const OUTPUT_DRAIN_MS = 2_000;

export interface ContainerRunSettings extends SandboxLimits {
  socketPath: string;
  image: string;
  labels?: Record<string, string>;
}

type RunStatus = 'creating' | 'running' | 'exited' | 'timed_out' | 'cancelled' | 'crashed';

/**
 * One script execution in one container.
 *
 *   creating --> running --> exited      (the runtime sent complete or error)
 *      |            |------> timed_out   (timer fired: container removed with force)
 *      |            |------> cancelled   (signal aborted: container removed with force)
 *      |            '------> crashed     (memory limit, engine failure, no final event)
 *      '-----------------------> crashed | cancelled
 *
 * The container is created with AutoRemove, and `cleanup` removes it with force in
 * every case, so no container outlives `execute()`.
 */
export class ContainerRun {
  private status: RunStatus = 'creating';
  private container: Container | undefined;
  private attachStream: Duplex | undefined;
  private sawFinalEvent = false;
  private killedBy: 'timeout' | 'abort' | 'grace' | 'output' | undefined;
  private stderrTail = '';
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private giveUpTimer: NodeJS.Timeout | undefined;
  /** Resolves REMOVAL_WAIT_MS after a stop, so an engine that never confirms cannot hang the run. */
  private readonly stopDeadline: Promise<undefined>;
  private startStopDeadline: () => void = () => undefined;
  private readonly parser: EventLineParser;

  constructor(
    private readonly docker: Docker,
    private readonly settings: ContainerRunSettings,
    private readonly request: SandboxRunRequest,
    private readonly options: RunOptions,
    private readonly logger: Logger | undefined,
  ) {
    // Escaped JSON can be six times longer than the value it carries.
    const maxLineBytes = Math.max(request.limits.valueMaxBytes, request.limits.stdoutMaxChars) * 6 + 1024 * 1024;
    this.parser = new EventLineParser((event) => this.handleEvent(event), maxLineBytes);
    this.stopDeadline = new Promise((resolve) => {
      this.startStopDeadline = () => {
        this.giveUpTimer = setTimeout(() => resolve(undefined), REMOVAL_WAIT_MS);
      };
    });
  }

  async execute(): Promise<RunnerOutcome> {
    const onAbort = () => this.stop('abort');
    this.options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.createAndRun();
    } finally {
      this.options.signal.removeEventListener('abort', onAbort);
      await this.cleanup();
    }
  }

  private async createAndRun(): Promise<RunnerOutcome> {
    let exited: Promise<number | undefined>;
    try {
      this.container = await this.docker.createContainer(this.containerOptions());
      this.attachStream = await this.attach(this.container);
      // Waiting for removal is requested before start, so the exit of a fast run cannot be missed.
      exited = this.waitForRemoval(this.container);
      if (this.options.signal.aborted) {
        return this.finish('cancelled');
      }
      await this.container.start();
    } catch (error) {
      if (this.options.signal.aborted) {
        return this.finish('cancelled');
      }
      return this.finishCrashed(startFailureError(this.settings.socketPath, this.settings.image, error));
    }

    // An abort that arrived while the container started has already set the final status.
    if (this.status === 'creating') {
      this.status = 'running';
    }
    this.timer = setTimeout(() => this.stop('timeout'), this.options.timeoutMs);
    this.writeRequest();

    const exitCode = await Promise.race([exited, this.stopDeadline]);
    await Promise.race([this.outputEnded(), delay(OUTPUT_DRAIN_MS)]);
    return this.decideOutcome(exitCode);
  }

  private containerOptions(): ContainerCreateOptions {
    const { image, memory, cpus, pids } = this.settings;
    return {
      Image: image,
      Labels: { ...this.settings.labels, [SANDBOX_CONTAINER_LABEL]: '1', [RUN_ID_LABEL]: this.request.runId },
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
      NetworkDisabled: true,
      // The image's environment only: nothing from the service's environment reaches the script.
      Env: [],
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        ReadonlyRootfs: true,
        LogConfig: { Type: 'none', Config: {} },
        Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=64m' },
        Memory: memoryBytesFor(memory),
        MemorySwap: memoryBytesFor(memory),
        NanoCpus: Math.round(cpus * 1e9),
        PidsLimit: pids,
        IpcMode: 'private',
        AutoRemove: true,
      },
      User: '1001:1001',
    };
  }

  private async attach(container: Container): Promise<Duplex> {
    const stream = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      // A hijacked connection can be half-closed, and that is how the runtime reads end of file on stdin.
      hijack: true,
    })) as unknown as Duplex;

    const stdout = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.readStdout(chunk);
        callback();
      },
    });
    const stderr = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
        callback();
      },
    });
    this.docker.modem.demuxStream(stream, stdout, stderr);
    stream.on('error', (error) => {
      this.logger?.debug({ runId: this.request.runId, err: error }, 'sandbox attach stream failed');
    });
    return stream;
  }

  private readStdout(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
    } catch (error) {
      if (!(error instanceof LineTooLongError)) {
        throw error;
      }
      this.logger?.warn({ runId: this.request.runId, maxLineBytes: error.maxLineBytes }, 'sandbox output line too long; stopping the container');
      this.stop('output');
    }
  }

  private waitForRemoval(container: Container): Promise<number | undefined> {
    return container.wait({ condition: 'removed' }).then(
      (result: { StatusCode?: number }) => result.StatusCode,
      (error: unknown) => {
        // A forced removal can end the wait with "no such container" before it reports a code.
        this.logger?.debug({ runId: this.request.runId, reason: engineErrorReason(error) }, 'sandbox wait ended without a status');
        return undefined;
      },
    );
  }

  /** Resolve when the attached stream has delivered all output, or is gone. */
  private outputEnded(): Promise<void> {
    const stream = this.attachStream;
    if (stream === undefined || stream.readableEnded || stream.destroyed) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
  }

  private writeRequest(): void {
    const stream = this.attachStream;
    if (stream === undefined) {
      return;
    }
    // A container that dies before reading its input closes the socket, and its exit status gives the cause.
    stream.write(`${JSON.stringify(this.request)}\n`, (error) => {
      if (error) {
        this.logger?.debug({ runId: this.request.runId, err: error }, 'writing the run request failed');
      }
    });
    stream.end();
  }

  private handleEvent(event: SandboxEvent): void {
    if (this.status === 'timed_out' || this.status === 'cancelled') {
      return;
    }
    this.options.onEvent(event);

    if (event.type === 'sandbox:complete' || event.type === 'sandbox:error') {
      this.sawFinalEvent = true;
      this.graceTimer = setTimeout(() => this.stop('grace'), EXIT_GRACE_MS);
    }
  }

  /** Kill and remove the container; the wait for removal then resolves and the run ends. */
  private stop(reason: 'timeout' | 'abort' | 'grace' | 'output'): void {
    if (this.killedBy !== undefined) {
      return;
    }
    this.killedBy = reason;
    if (reason === 'timeout' && !this.sawFinalEvent) {
      this.status = 'timed_out';
    }
    if (reason === 'abort' && !this.sawFinalEvent) {
      this.status = 'cancelled';
    }
    this.startStopDeadline();
    void this.removeContainer();
  }

  private decideOutcome(exitCode: number | undefined): RunnerOutcome {
    this.parser.end();

    if (this.status === 'cancelled') {
      return this.finish('cancelled');
    }
    if (this.status === 'timed_out') {
      return this.finish('timed_out');
    }
    if (this.sawFinalEvent) {
      return this.finish('exited');
    }
    // PID 1 of a container ignores SIGKILL sent from inside it, so an exit by SIGKILL that
    // this runner did not send comes from the kernel's out-of-memory killer.
    // NOTE: inferred from the exit status; the engine's OOMKilled flag is gone once AutoRemove ran.
    if (exitCode === SIGKILL_EXIT_CODE && this.killedBy === undefined) {
      return this.finishCrashed(memoryLimitError(this.settings.memory));
    }
    if (this.killedBy === 'output') {
      return this.finishCrashed({
        type: 'OutputLimitExceeded',
        message: 'The script wrote a single line of output longer than the sandbox accepts.',
        hint: 'Print less at once, or pass large values to done() instead of printing them.',
      });
    }
    return this.finishCrashed(crashedError(exitCode, this.stderrTail));
  }

  private finish(status: 'exited' | 'timed_out' | 'cancelled'): RunnerOutcome {
    this.status = status;
    if (status === 'timed_out') {
      return { kind: 'timed_out', timeoutMs: this.options.timeoutMs };
    }
    return { kind: status };
  }

  private finishCrashed(error: ReturnType<typeof crashedError>): RunnerOutcome {
    this.status = 'crashed';
    this.logger?.warn({ runId: this.request.runId, errorType: error.type, reason: error.message }, 'sandbox run crashed');
    return { kind: 'crashed', error };
  }

  private async cleanup(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.graceTimer);
    clearTimeout(this.giveUpTimer);
    this.attachStream?.destroy();
    await this.removeContainer();
  }

  private async removeContainer(): Promise<void> {
    const container = this.container;
    if (container === undefined) {
      return;
    }
    try {
      await container.remove({ force: true });
    } catch (error) {
      if (!isAlreadyRemoved(error)) {
        this.logger?.error({ runId: this.request.runId, containerId: container.id, reason: engineErrorReason(error) }, 'removing the sandbox container failed');
        return;
      }
    }
    await this.waitUntilGone(container);
  }

  /** Poll until the engine no longer lists the container (AutoRemove runs asynchronously). */
  private async waitUntilGone(container: Container): Promise<void> {
    const deadline = Date.now() + REMOVAL_WAIT_MS;
    while (Date.now() < deadline) {
      try {
        await container.inspect();
      } catch (error) {
        if (!isAlreadyRemoved(error)) {
          this.logger?.error({ runId: this.request.runId, containerId: container.id, reason: engineErrorReason(error) }, 'checking the sandbox container removal failed');
        }
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.logger?.error({ runId: this.request.runId, containerId: container.id }, `sandbox container still present ${REMOVAL_WAIT_MS} ms after removal`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function memoryBytesFor(memory: string): number {
  const bytes = memoryToBytes(memory);
  if (bytes === undefined) {
    throw new Error(`Invalid sandbox memory limit ${JSON.stringify(memory)}; use a value such as 512m.`);
  }
  return bytes;
}
