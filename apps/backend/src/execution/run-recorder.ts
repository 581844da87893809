import {
  assertNever,
  type DoneResult,
  type FinalRunStatus,
  type JsonValue,
  type RunStatus,
  type RunWarning,
  type SandboxEvent,
  type ScriptError,
} from '@policy-logic-studio/shared';
import type { RunnerOutcome } from './runner.js';

/** Printed characters kept per stream on the backend side, whatever the sandbox sends. */
const STREAM_MAX_CHARS = 2_000_000;

export interface RecordedRun {
  status: FinalRunStatus;
  results: DoneResult[];
  debug: JsonValue[][];
  stdout: string;
  stderr: string;
  warnings: RunWarning[];
  error?: ScriptError;
  packages: string[];
  /** Time spent loading `packages` before the script ran. */
  packageLoadMs?: number;
}

/**
 * Collects the events of one run and decides its final status. The rules for `done()`
 * live here, once for every language and mode: a call after the final result is
 * ignored with a warning, and a run that ends without any `done()` warns.
 *
 *   queued --start--> running --finish(outcome)--> completed | failed | timed_out | cancelled
 */
export class RunRecorder {
  private status: RunStatus = 'queued';
  private readonly results: DoneResult[] = [];
  private readonly debug: JsonValue[][] = [];
  private readonly warnings: RunWarning[] = [];
  private readonly streams = { stdout: '', stderr: '' };
  private error: ScriptError | undefined;
  private packages: string[] = [];
  private packageLoadMs: number | undefined;
  private completed = false;
  private ignoredDoneCalls = 0;

  start(): void {
    this.status = 'running';
  }

  get currentStatus(): RunStatus {
    return this.status;
  }

  handle(event: SandboxEvent): void {
    if (this.status !== 'running') {
      return;
    }
    switch (event.type) {
      case 'sandbox:done':
        return this.onDone(event.value, event.final);
      case 'sandbox:debug':
        // A sandbox the script escaped from can send anything; the editor maps each entry.
        if (Array.isArray(event.values)) {
          this.debug.push(event.values);
        }
        return;
      case 'sandbox:stdout':
        return this.onOutput('stdout', event.text);
      case 'sandbox:stderr':
        return this.onOutput('stderr', event.text);
      case 'sandbox:warning':
        this.warnings.push({ code: event.code, message: event.message });
        return;
      case 'sandbox:error':
        this.error ??= event.error;
        return;
      case 'sandbox:complete':
        this.completed = true;
        this.packages = event.packages;
        this.packageLoadMs = event.packageLoadMs;
        return;
      default:
        return assertNever(event);
    }
  }

  private onDone(value: JsonValue, final: boolean): void {
    if (this.results.some((result) => result.final)) {
      this.ignoredDoneCalls += 1;
      return;
    }
    this.results.push({ value, final });
  }

  private onOutput(stream: 'stdout' | 'stderr', text: string): void {
    const room = STREAM_MAX_CHARS - this.streams[stream].length;
    if (room > 0) {
      this.streams[stream] += text.slice(0, room);
    }
  }

  /** Close the run with the runner's outcome; later events are ignored. */
  finish(outcome: RunnerOutcome): RecordedRun {
    this.status = this.statusFor(outcome);
    this.addClosingWarnings();
    return {
      status: this.status,
      results: this.results,
      debug: this.debug,
      stdout: this.streams.stdout,
      stderr: this.streams.stderr,
      warnings: this.warnings,
      ...(this.error ? { error: this.error } : {}),
      packages: this.packages,
      ...(this.packageLoadMs === undefined ? {} : { packageLoadMs: this.packageLoadMs }),
    };
  }

  private statusFor(outcome: RunnerOutcome): FinalRunStatus {
    switch (outcome.kind) {
      case 'timed_out':
        this.error = {
          type: 'TimeoutError',
          message: `The script did not finish within ${outcome.timeoutMs} ms and was stopped.`,
          hint: 'Look for a loop that never ends or an await that never resolves, or raise the timeout.',
        };
        return 'timed_out';
      case 'cancelled':
        return 'cancelled';
      case 'crashed':
        this.error ??= outcome.error;
        return 'failed';
      case 'exited':
        if (this.error) {
          return 'failed';
        }
        if (!this.completed) {
          this.error = {
            type: 'SandboxError',
            message: 'The sandbox stopped without reporting a result or an error.',
            hint: 'Run the script again; if this repeats, check the service log for this run id.',
          };
          return 'failed';
        }
        return 'completed';
      default:
        return assertNever(outcome);
    }
  }

  private addClosingWarnings(): void {
    if (this.ignoredDoneCalls > 0) {
      this.warnings.push({
        code: 'done-after-final',
        message: `done() was called ${this.ignoredDoneCalls} more time(s) after the final result; those values were ignored. Pass final=False to done() to send partial results.`,
      });
    }
    if (this.status === 'completed' && this.results.length === 0) {
      this.warnings.push({
        code: 'no-done',
        message: 'The script finished without calling done(), so the block produced no results.',
      });
    }
  }
}
