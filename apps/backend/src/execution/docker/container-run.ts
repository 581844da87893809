import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { Container } from 'dockerode';
import type { Logger } from 'pino';
import type { SandboxEvent, SandboxRunRequest } from '@policy-logic-studio/shared';
import type { RunOptions, RunnerOutcome } from '../runner.js';
import {
  attachSandbox,
  removeSandboxContainer,
  runContainerName,
  sandboxContainerOptions,
  waitForRemoval,
  type ContainerRunSettings,
} from './container-spec.js';
import {
  crashedError,
  engineErrorReason,
  memoryLimitError,
  startFailureError,
} from './engine-errors.js';
import { EventLineParser, LineTooLongError } from './event-lines.js';
import type { PreparedContainers } from './prepared-containers.js';

/** Exit status of a process killed by SIGKILL (128 + 9). */
const SIGKILL_EXIT_CODE = 137;
/** How long the interpreter may linger after its last event (a non-daemon thread, say). */
const EXIT_GRACE_MS = 2_000;
/** How long the engine gets to confirm removal of a killed container. */
const REMOVAL_WAIT_MS = 10_000;
const STDERR_TAIL_CHARS = 8_192;
/** How long output may keep arriving after the container is gone. */
const OUTPUT_DRAIN_MS = 2_000;
const EXITED_AFTER_FINAL_EVENT = Symbol('exited after the final event');

/** A started container; `removed` resolves with its exit status once the engine removed it. */
interface StartedContainer {
  removed: Promise<number | undefined>;
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
 * The container is either taken from the prepared containers or created for the run.
 * It has AutoRemove set, and `cleanup` removes it with force unless the engine has
 * already reported its removal, so no container outlives `execute()`.
 */
export class ContainerRun {
  private status: RunStatus = 'creating';
  private container: Container | undefined;
  private attachStream: Duplex | undefined;
  private sawFinalEvent = false;
  private removalConfirmed = false;
  /** The interpreter exited after its final event, and the engine's removal was not awaited. */
  private exitedAfterFinalEvent = false;
  /** The engine's removal wait of the started container. */
  private removed: Promise<number | undefined> | undefined;
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
    /** Source of containers created ahead of time; without it, every run creates its own. */
    private readonly preparedContainers?: PreparedContainers,
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

  /**
   * Run the script. `removal` settles once the engine no longer lists the container.
   * After a timeout, a cancel or a crash the container is gone when the outcome comes.
   * After a normal exit the engine may still be removing it, and `removal` is pending.
   */
  async execute(): Promise<{ outcome: RunnerOutcome; removal: Promise<void> }> {
    const onAbort = () => this.stop('abort');
    this.options.signal.addEventListener('abort', onAbort, { once: true });
    let outcome: RunnerOutcome;
    try {
      outcome = await this.createAndRun();
    } catch (error) {
      await this.cleanup();
      throw error;
    } finally {
      this.options.signal.removeEventListener('abort', onAbort);
      // Replacements are created after the run, so on a small machine they do not take CPU from the script.
      this.preparedContainers?.fill();
    }
    const removal = this.cleanup();
    if (!this.exitedAfterFinalEvent) {
      await removal;
    }
    return { outcome, removal };
  }

  private async createAndRun(): Promise<RunnerOutcome> {
    let started: StartedContainer | undefined;
    try {
      started = await this.startContainer();
    } catch (error) {
      if (this.options.signal.aborted) {
        return this.finish('cancelled');
      }
      return this.finishCrashed(startFailureError(this.settings.socketPath, this.settings.image, error));
    }
    if (started === undefined) {
      return this.finish('cancelled');
    }

    // An abort that arrived while the container started has already set the final status.
    if (this.status === 'creating') {
      this.status = 'running';
    }
    this.timer = setTimeout(() => this.stop('timeout'), this.options.timeoutMs);
    this.writeRequest();

    this.removed = started.removed;
    const outputEnded = this.outputEnded();
    // After the final event, the end of stdout means the interpreter exited. The outcome
    // then need not wait for the engine to remove the container, and cleanup() confirms it.
    // Without a final event only the exit status can tell a memory kill from a crash, so that case waits.
    const exitedAfterFinalEvent = outputEnded.then(() =>
      this.sawFinalEvent ? EXITED_AFTER_FINAL_EVENT : new Promise<never>(() => undefined),
    );
    const ended = await Promise.race([started.removed, this.stopDeadline, exitedAfterFinalEvent]);
    if (ended === EXITED_AFTER_FINAL_EVENT) {
      this.exitedAfterFinalEvent = true;
      return this.decideOutcome(undefined);
    }
    // The wait reports a status only once the engine has removed the container.
    this.removalConfirmed = ended !== undefined;
    await Promise.race([outputEnded, delay(OUTPUT_DRAIN_MS)]);
    return this.decideOutcome(ended);
  }

  /**
   * Start a prepared container, or create one when none is ready or the prepared one
   * fails to start. Returns undefined when the signal aborted before the start.
   */
  private async startContainer(): Promise<StartedContainer | undefined> {
    const prepared = this.preparedContainers?.take();
    if (prepared === undefined) {
      return this.createAndStart();
    }

    this.container = prepared.container;
    this.attachStream = prepared.stream;
    this.readOutput(prepared.stream);
    if (this.options.signal.aborted) {
      return undefined;
    }
    try {
      await prepared.container.start();
    } catch (error) {
      if (this.options.signal.aborted) {
        throw error;
      }
      this.logger?.warn({ runId: this.request.runId, reason: engineErrorReason(error) }, 'starting a prepared sandbox container failed; creating one for this run');
      this.container = undefined;
      this.attachStream = undefined;
      void this.preparedContainers?.discard(prepared);
      return this.createAndStart();
    }

    // Naming happens while the script runs, so it adds no round trip before the start.
    void prepared.container.rename({ name: runContainerName(this.request.runId) }).catch((error: unknown) => {
      this.logger?.debug({ runId: this.request.runId, reason: engineErrorReason(error) }, 'naming the prepared sandbox container failed');
    });
    return { removed: prepared.removed };
  }

  private async createAndStart(): Promise<StartedContainer | undefined> {
    this.container = await this.docker.createContainer(sandboxContainerOptions(this.settings, this.request.runId));
    this.attachStream = await attachSandbox(this.container);
    this.readOutput(this.attachStream);
    const removed = waitForRemoval(this.container, (reason) => {
      this.logger?.debug({ runId: this.request.runId, reason }, 'sandbox wait ended without a status');
    });
    if (this.options.signal.aborted) {
      return undefined;
    }
    await this.container.start();
    return { removed };
  }

  /** Send the container's stdout to the event parser and keep the tail of its stderr. */
  private readOutput(stream: Duplex): void {
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
    if (this.removalConfirmed) {
      return;
    }
    // A container whose interpreter exited is being removed by the engine (AutoRemove).
    // NOTE: the run's slot is free by now, so a script that closed stdout and kept running
    // may use CPU outside maxConcurrentRuns for up to EXIT_GRACE_MS before the forced removal.
    if (this.removed !== undefined && (await Promise.race([this.removed, delay(EXIT_GRACE_MS)])) !== undefined) {
      return;
    }
    await this.removeContainer();
  }

  private async removeContainer(): Promise<void> {
    if (this.container !== undefined) {
      await removeSandboxContainer(this.container, this.logger, { runId: this.request.runId });
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
