import { StringDecoder } from 'node:string_decoder';
import type { SandboxEvent, SandboxEventType } from '@policy-logic-studio/shared';

const EVENT_TYPES: ReadonlySet<SandboxEventType> = new Set<SandboxEventType>([
  'sandbox:debug',
  'sandbox:stdout',
  'sandbox:stderr',
  'sandbox:done',
  'sandbox:warning',
  'sandbox:error',
  'sandbox:complete',
]);

export class LineTooLongError extends Error {
  constructor(readonly maxLineBytes: number) {
    super(`the sandbox wrote a line longer than ${maxLineBytes} bytes on stdout`);
    this.name = 'LineTooLongError';
  }
}

/**
 * Splits the container's stdout into lines and turns each into a `SandboxEvent`.
 * A line that is not a protocol event (a C library writing to file descriptor 1, say)
 * becomes a `sandbox:stdout` event with its text, so nothing printed is lost.
 */
export class EventLineParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(
    private readonly onEvent: (event: SandboxEvent) => void,
    /** Bound on one unfinished line, so a script cannot grow the backend's memory without end. */
    private readonly maxLineBytes: number,
  ) {}

  /** Feed a chunk of stdout; throws LineTooLongError when a line exceeds the bound. */
  push(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);

    let newline = this.pending.indexOf('\n');
    while (newline !== -1) {
      this.handleLine(this.pending.slice(0, newline));
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf('\n');
    }

    // Length in UTF-16 units is a close enough proxy for bytes here.
    if (this.pending.length > this.maxLineBytes) {
      this.pending = '';
      throw new LineTooLongError(this.maxLineBytes);
    }
  }

  /** Flush a last line that had no newline. */
  end(): void {
    this.pending += this.decoder.end();
    if (this.pending !== '') {
      this.handleLine(this.pending);
      this.pending = '';
    }
  }

  private handleLine(line: string): void {
    if (line.trim() === '') {
      return;
    }
    this.onEvent(parseEventLine(line));
  }
}

/** Parse one stdout line as an event, or wrap it as printed text when it is not one. */
export function parseEventLine(line: string): SandboxEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { type: 'sandbox:stdout', text: `${line}\n` };
  }

  if (isSandboxEvent(parsed)) {
    return parsed;
  }
  return { type: 'sandbox:stdout', text: `${line}\n` };
}

function isSandboxEvent(value: unknown): value is SandboxEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && EVENT_TYPES.has(type as SandboxEventType);
}
