import type { JsonValue, SandboxEvent, SandboxRunRequest } from '@policy-logic-studio/shared';
import ivm from 'isolated-vm';
import type { RunOptions, RunnerOutcome } from '../runner.js';
import { callStartRun, type PreparedIsolate } from './isolate-pool.js';
import { SCRIPT_FILENAME, buildScriptSource, runtimeErrorFrom, syntaxErrorFrom, type ScriptLayout } from './script-source.js';

/**
 * State of one run in one isolate:
 *
 *   starting --compiled--> running --'complete' or 'error' event--> exited
 *   starting --syntax error--------------------------------------> exited
 *   starting | running --deadline timer--> timed_out
 *   starting | running --signal or close--> cancelled
 *   starting | running --isolate died (memory limit)--> crashed
 *
 * Every transition goes through `settle`, which also stops all timers. Once `execute`
 * returns, the caller releases the isolate to the pool, which disposes it in the event
 * loop's next check phase and so stops any code still running.
 */
type RunState = 'starting' | 'running' | 'exited' | 'timed_out' | 'cancelled' | 'crashed';

type OutputStream = 'stdout' | 'stderr';

interface StreamTally {
  endsWithNewline: boolean;
  droppedChars: number;
}

/** Limits the runner applies to every run, on top of the request's output limits. */
export interface IsolateRunLimits {
  memoryLimitMb: number;
  /** Total JSON bytes of all `done()` and `debug()` values of one run. */
  maxRunValueBytes: number;
}

const ISOLATE_TIMEOUT_MESSAGE = 'Script execution timed out.';
/** Host-side bound on an error's or warning's text, whatever the isolate sends. */
const MAX_EVENT_TEXT_CHARS = 20_000;
const MEMORY_LIMIT_MESSAGE = 'memory limit';

export class IsolateRun {
  private state: RunState = 'starting';
  private readonly layout: ScriptLayout;
  private readonly streams: Record<OutputStream, StreamTally> = {
    stdout: { endsWithNewline: true, droppedChars: 0 },
    stderr: { endsWithNewline: true, droppedChars: 0 },
  };
  private resolveOutcome!: (outcome: RunnerOutcome) => void;
  private readonly outcome = new Promise<RunnerOutcome>((resolve) => {
    this.resolveOutcome = resolve;
  });
  private timer: NodeJS.Timeout | undefined;
  private deadline = 0;
  /** Host timers standing in for the script's pending `setTimeout` calls. */
  private readonly scriptTimers = new Set<NodeJS.Timeout>();
  private valueBytesTotal = 0;

  constructor(
    private readonly prepared: PreparedIsolate,
    private readonly request: SandboxRunRequest,
    private readonly options: RunOptions,
    private readonly runLimits: IsolateRunLimits,
  ) {
    this.layout = buildScriptSource(request.script, request.prelude);
  }

  /** Runs the script to one outcome and sends each event to `options.onEvent` as it happens. */
  async execute(): Promise<RunnerOutcome> {
    const { signal, timeoutMs } = this.options;
    if (signal.aborted) {
      return { kind: 'cancelled' };
    }

    const onAbort = () => this.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    this.deadline = performance.now() + timeoutMs;
    this.timer = setTimeout(() => this.settle({ kind: 'timed_out', timeoutMs }), timeoutMs);
    void this.start().catch((error: unknown) => this.onIsolateFailure(error));

    try {
      return await this.outcome;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Ends the run as cancelled, unless it already ended. */
  cancel(): void {
    this.settle({ kind: 'cancelled' });
  }

  private async start(): Promise<void> {
    const { context, startRun } = this.prepared;
    const { limits } = this.request;

    let userFunction: ivm.Reference;
    try {
      // One call compiles and runs, saving a round trip to the isolate's thread. A syntax
      // error is a SyntaxError whose message ends with ` [script.js:line:column]`, as from compileScript.
      userFunction = await context.eval(this.layout.source, {
        filename: SCRIPT_FILENAME,
        lineOffset: this.layout.lineOffset,
        reference: true,
        timeout: this.options.timeoutMs,
      });
    } catch (error) {
      if (error instanceof SyntaxError && this.state === 'starting') {
        this.emit({ type: 'sandbox:error', error: syntaxErrorFrom(error.message, this.layout) });
        this.settle({ kind: 'exited' });
        return;
      }
      throw error;
    }
    if (this.state !== 'starting') {
      return;
    }

    this.state = 'running';
    const sendEvent = new ivm.Callback((kind: unknown, ...fields: unknown[]) => this.onIsolateEvent(kind, fields), {
      ignored: true,
    });
    await callStartRun(startRun, {
      sendEvent,
      inputJson: JSON.stringify(this.request.input),
      limits,
      userFunction,
      timeoutMs: this.options.timeoutMs,
    });
  }

  /** Dispatches one call of the runtime's `sendEvent` (isolate-runtime.js lists the kinds). */
  private onIsolateEvent(kind: unknown, fields: unknown[]): void {
    if (this.state !== 'running') {
      return;
    }
    switch (kind) {
      case 'done':
        return this.onDone(fields[0], fields[1]);
      case 'debug':
        return this.onDebug(fields[0]);
      case 'stdout':
      case 'stderr':
        return this.onOutput(kind, fields[0]);
      case 'dropped':
        return this.onDropped(fields[0], fields[1]);
      case 'warning':
        return this.onWarning(fields[0], fields[1]);
      case 'error':
        return this.onError(fields[0], fields[1], fields[2]);
      case 'complete':
        return this.onComplete();
      case 'timer':
        return this.onTimer(fields[0], fields[1]);
      default:
        return this.failProtocol(`unknown event kind ${String(kind)}`);
    }
  }

  private onDone(jsonText: unknown, final: unknown): void {
    const value = this.parseValue(jsonText, 'done()');
    if (value === undefined) {
      return;
    }
    this.emit({ type: 'sandbox:done', value, final: final === true });
  }

  private onDebug(jsonText: unknown): void {
    const values = this.parseValue(jsonText, 'debug()');
    if (values === undefined) {
      return;
    }
    if (!Array.isArray(values)) {
      return this.failProtocol('debug() values did not arrive as an array');
    }
    this.emit({ type: 'sandbox:debug', values });
  }

  /**
   * Parses a value the runtime already converted and size-checked. The size is
   * checked again here because the host must not trust the isolate.
   */
  private parseValue(jsonText: unknown, call: string): JsonValue | undefined {
    if (typeof jsonText !== 'string') {
      this.failProtocol(`${call} value did not arrive as JSON text`);
      return undefined;
    }
    const maxBytes = this.request.limits.valueMaxBytes;
    const bytes = Buffer.byteLength(jsonText, 'utf8');
    if (bytes > maxBytes) {
      this.failProtocol(`${call} value is over the limit of ${maxBytes} bytes as JSON`);
      return undefined;
    }

    // maxEvents times valueMaxBytes can exceed the backend's memory, so the run has a total as well.
    this.valueBytesTotal += bytes;
    if (this.valueBytesTotal > this.runLimits.maxRunValueBytes) {
      this.failOverTotal(call);
      return undefined;
    }

    try {
      return JSON.parse(jsonText) as JsonValue;
    } catch {
      this.failProtocol(`${call} value is not valid JSON`);
      return undefined;
    }
  }

  private onOutput(stream: OutputStream, text: unknown): void {
    if (typeof text !== 'string' || text === '') {
      return;
    }
    this.streams[stream].endsWithNewline = text.endsWith('\n');
    this.emit(stream === 'stdout' ? { type: 'sandbox:stdout', text } : { type: 'sandbox:stderr', text });
  }

  private onDropped(stream: unknown, droppedChars: unknown): void {
    if ((stream === 'stdout' || stream === 'stderr') && typeof droppedChars === 'number') {
      this.streams[stream].droppedChars = Math.max(this.streams[stream].droppedChars, droppedChars);
    }
  }

  private onWarning(code: unknown, message: unknown): void {
    if (typeof code === 'string' && typeof message === 'string') {
      this.emit({ type: 'sandbox:warning', code: code.slice(0, 100), message: message.slice(0, MAX_EVENT_TEXT_CHARS) });
    }
  }

  private onError(name: unknown, message: unknown, stack: unknown): void {
    const error = runtimeErrorFrom(
      String(name).slice(0, 200),
      String(message).slice(0, MAX_EVENT_TEXT_CHARS),
      typeof stack === 'string' ? stack.slice(0, MAX_EVENT_TEXT_CHARS) : '',
      this.layout,
    );
    this.emitTruncationMarkers();
    this.emit({ type: 'sandbox:error', error });
    this.settle({ kind: 'exited' });
  }

  private onComplete(): void {
    this.emitTruncationMarkers();
    this.emit({ type: 'sandbox:complete', packages: [] });
    this.settle({ kind: 'exited' });
  }

  private failOverTotal(call: string): void {
    const maxBytes = this.runLimits.maxRunValueBytes;
    this.emitTruncationMarkers();
    this.emit({
      type: 'sandbox:error',
      error: {
        type: 'ValueTooLargeError',
        message: `${call} was stopped: the values sent by done() and debug() in this run total more than ${maxBytes} bytes as JSON.`,
        hint: 'Send fewer or smaller values, for example a summary instead of every intermediate result.',
      },
    });
    this.settle({ kind: 'exited' });
  }

  /** Calls the runtime's `fireTimer` when a script's `setTimeout` is due, within the run's deadline. */
  private onTimer(timerId: unknown, delayMs: unknown): void {
    if (typeof timerId !== 'number' || typeof delayMs !== 'number') {
      return this.failProtocol('a timer event without a numeric id and delay');
    }
    // A timer due after the deadline cannot fire in this run, and Node.js would fire delays over 2^31 - 1 ms at once.
    if (delayMs >= this.deadline - performance.now()) {
      return;
    }

    const handle = setTimeout(() => {
      this.scriptTimers.delete(handle);
      const remainingMs = Math.max(1, Math.ceil(this.deadline - performance.now()));
      this.prepared.fireTimer
        .apply(undefined, [timerId], { timeout: remainingMs })
        .catch((error: unknown) => this.onIsolateFailure(error));
    }, delayMs);
    this.scriptTimers.add(handle);
  }

  /** Ends the run when the isolate sends something the runtime never sends. */
  private failProtocol(detail: string): void {
    this.settle({
      kind: 'crashed',
      error: {
        type: 'SandboxError',
        message: `The JavaScript sandbox sent an invalid event: ${detail}.`,
        hint: 'Run the script again; if this repeats, report the script that causes it.',
      },
    });
  }

  /** Maps a rejection from isolated-vm (timeout, memory limit, disposal) to an outcome. */
  private onIsolateFailure(error: unknown): void {
    if (this.state !== 'starting' && this.state !== 'running') {
      return;
    }
    const message = error instanceof Error ? error.message : String(error);

    if (message === ISOLATE_TIMEOUT_MESSAGE) {
      this.settle({ kind: 'timed_out', timeoutMs: this.options.timeoutMs });
      return;
    }
    if (message.includes(MEMORY_LIMIT_MESSAGE)) {
      this.settle({
        kind: 'crashed',
        error: {
          type: 'MemoryError',
          message: `The script used more than the memory limit of ${this.runLimits.memoryLimitMb} MB and was stopped.`,
          hint: 'Look for a loop that keeps adding to an array, string or object, or work on fewer documents at a time.',
        },
      });
      return;
    }
    this.settle({
      kind: 'crashed',
      error: {
        type: 'SandboxError',
        message: `The JavaScript sandbox failed: ${message}`,
        hint: 'Run the script again; if this repeats, check the service log for this run id.',
      },
    });
  }

  /** Appends the visible marker to each stream whose output was cut at the limit. */
  private emitTruncationMarkers(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const tally = this.streams[stream];
      if (tally.droppedChars === 0) {
        continue;
      }
      const separator = tally.endsWithNewline ? '' : '\n';
      const text = `${separator}[output truncated: ${tally.droppedChars} characters not shown]\n`;
      this.emit(stream === 'stdout' ? { type: 'sandbox:stdout', text } : { type: 'sandbox:stderr', text });
      tally.droppedChars = 0;
    }
  }

  private emit(event: SandboxEvent): void {
    this.options.onEvent(event);
  }

  private settle(outcome: RunnerOutcome): void {
    if (this.state !== 'starting' && this.state !== 'running') {
      return;
    }
    clearTimeout(this.timer);
    for (const handle of this.scriptTimers) {
      clearTimeout(handle);
    }
    this.scriptTimers.clear();
    if (outcome.kind !== 'exited') {
      // Output cut before a timeout or a crash still gets its marker, with the count last reported.
      this.emitTruncationMarkers();
    }
    this.state = outcome.kind;
    this.resolveOutcome(outcome);
  }
}
