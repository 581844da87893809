/**
 * Sandbox containers created, attached and watched ahead of their runs, so a run only has
 * to start one. Each is still single-use: a run takes it out of the pool, and the engine
 * removes it when it exits (AutoRemove), exactly like a container created for the run.
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { Container } from 'dockerode';
import type { Logger } from 'pino';
import {
  attachSandbox,
  removeSandboxContainer,
  sandboxContainerOptions,
  waitForRemoval,
  type ContainerRunSettings,
} from './container-spec.js';
import { engineErrorReason } from './engine-errors.js';

/** Pause after a failed creation before the pool tries again, so an engine outage is not hammered. */
const PREPARE_RETRY_MS = 1_000;

/** A created container with its attached stream and its removal wait, not started yet. */
export interface PreparedContainer {
  container: Container;
  stream: Duplex;
  /** Promise of the exit status, settled once the engine has removed the container. */
  removed: Promise<number | undefined>;
}

interface PoolEntry extends PreparedContainer {
  /** False once the stream closed or the container went away while it waited. */
  usable: boolean;
}

export class PreparedContainers {
  private readonly ready: PoolEntry[] = [];
  private readonly creating = new Set<Promise<void>>();
  private readonly removals = new Set<Promise<void>>();
  /** Containers whose removal failed while the engine was away. close() tries them again. */
  private readonly unremoved = new Set<Container>();
  private retryAt = 0;
  private closed = false;

  constructor(
    private readonly docker: Docker,
    private readonly settings: ContainerRunSettings,
    readonly targetCount: number,
    private readonly logger: Logger | undefined,
  ) {}

  get readyCount(): number {
    return this.ready.filter((entry) => entry.usable).length;
  }

  /** Takes a usable container out of the pool, or returns undefined when none is ready. Call fill() to replace it. */
  take(): PreparedContainer | undefined {
    this.discardUnusable();
    return this.ready.shift();
  }

  /** Creates containers in the background until `targetCount` are ready or being created. */
  fill(): void {
    this.discardUnusable();
    if (this.closed || Date.now() < this.retryAt) {
      return;
    }
    for (let count = this.ready.length + this.creating.size; count < this.targetCount; count += 1) {
      const creation = this.prepareOne().finally(() => this.creating.delete(creation));
      this.creating.add(creation);
    }
  }

  /** Removes a prepared container that will not run. close() waits for the removal too. */
  discard(prepared: PreparedContainer): Promise<void> {
    prepared.stream.destroy();
    return this.trackRemoval(prepared.container);
  }

  /** Stops preparing, removes every container still in the pool, and waits for all removals. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.creating]);
    for (const entry of this.ready.splice(0)) {
      void this.discard(entry);
    }
    for (const container of this.unremoved) {
      this.unremoved.delete(container);
      void this.trackRemoval(container);
    }
    await Promise.allSettled([...this.removals]);
  }

  private discardUnusable(): void {
    for (const entry of this.ready.filter((candidate) => !candidate.usable)) {
      this.ready.splice(this.ready.indexOf(entry), 1);
      void this.discard(entry);
    }
  }

  private trackRemoval(container: Container): Promise<void> {
    const removal = this.remove(container).finally(() => this.removals.delete(removal));
    this.removals.add(removal);
    return removal;
  }

  private async prepareOne(): Promise<void> {
    let container: Container | undefined;
    try {
      container = await this.docker.createContainer(sandboxContainerOptions(this.settings));
      const stream = await attachSandbox(container);
      const entry: PoolEntry = { container, stream, removed: Promise.resolve(undefined), usable: true };
      const markUnusable = () => {
        entry.usable = false;
      };
      // An engine that goes away or a removal from outside (leftover cleanup) ends the stream or the wait.
      stream.on('error', markUnusable).on('close', markUnusable);
      entry.removed = waitForRemoval(container, (reason) => {
        this.logger?.debug({ containerId: entry.container.id, reason }, 'prepared sandbox container wait ended without a status');
      });
      void entry.removed.finally(markUnusable);
      this.ready.push(entry);
      if (this.closed) {
        this.ready.splice(this.ready.indexOf(entry), 1);
        void this.discard(entry);
      }
    } catch (error) {
      // Runs create their own containers meanwhile and report the engine's error themselves.
      this.retryAt = Date.now() + PREPARE_RETRY_MS;
      this.logger?.warn({ reason: engineErrorReason(error) }, 'preparing a sandbox container failed; runs create their own until it works again');
      if (container !== undefined) {
        void this.trackRemoval(container);
      }
    }
  }

  /** Removes the container with force and waits until the engine no longer lists it. */
  private async remove(container: Container): Promise<void> {
    if (!(await removeSandboxContainer(container, this.logger, { prepared: true }))) {
      this.unremoved.add(container);
    }
  }
}
