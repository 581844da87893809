import { describe, expect, it } from 'vitest';
import type { SandboxEvent } from '@policy-logic-studio/shared';
import { EventLineParser, LineTooLongError, parseEventLine } from '../src/execution/docker/event-lines.js';
import {
  DEFAULT_SANDBOX_LIMITS,
  memoryToBytes,
  parseSandboxCpus,
  parseSandboxLimits,
  parseSandboxMemory,
  parseSandboxPids,
} from '../src/execution/docker/limits.js';

describe('parseSandboxMemory', () => {
  it.each([
    ['512m', '512m'],
    ['1G', '1g'],
    [' 256M ', '256m'],
    ['1.5g', '1.5g'],
    ['6m', '6m'],
    ['104857600', '104857600'],
  ])('accepts %j', (value, expected) => {
    expect(parseSandboxMemory(value)).toBe(expected);
  });

  it.each(['', 'lots', '512 m', '512mb', '-1m', '1t', 'm'])('rejects %j naming the variable', (value) => {
    expect(() => parseSandboxMemory(value)).toThrow(/^PYTHON_SANDBOX_MEMORY is invalid: /);
  });

  it('rejects less than 6m', () => {
    expect(() => parseSandboxMemory('5m')).toThrow(/^PYTHON_SANDBOX_MEMORY is too small: "5m"/);
  });
});

describe('memoryToBytes', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['64k', 64 * 1024],
    ['100b', 100],
    ['100', 100],
    ['1.5g', 1.5 * 1024 ** 3],
  ])('converts %j', (value, bytes) => {
    expect(memoryToBytes(value)).toBe(bytes);
  });

  it('returns undefined for text', () => {
    expect(memoryToBytes('half')).toBeUndefined();
  });
});

describe('parseSandboxCpus', () => {
  it.each([
    ['1', 1],
    ['1.0', 1],
    ['0.5', 0.5],
    ['0.01', 0.01],
  ])('accepts %j', (value, expected) => {
    expect(parseSandboxCpus(value)).toBe(expected);
  });

  it.each(['', '0', '0.001', '-1', 'one', 'Infinity', 'NaN'])('rejects %j naming the variable', (value) => {
    expect(() => parseSandboxCpus(value)).toThrow(/^PYTHON_SANDBOX_CPUS is invalid: /);
  });
});

describe('parseSandboxPids', () => {
  it.each([
    ['128', 128],
    ['8', 8],
    [' 64 ', 64],
  ])('accepts %j', (value, expected) => {
    expect(parseSandboxPids(value)).toBe(expected);
  });

  it.each(['', '7', '0', '-5', '12.5', '1e3', 'many'])('rejects %j naming the variable', (value) => {
    expect(() => parseSandboxPids(value)).toThrow(/^PYTHON_SANDBOX_PIDS is invalid: /);
  });
});

describe('parseSandboxLimits', () => {
  it('uses defaults for unset and empty variables', () => {
    expect(parseSandboxLimits({ PYTHON_SANDBOX_MEMORY: '' })).toEqual(DEFAULT_SANDBOX_LIMITS);
  });

  it('reads all three variables', () => {
    const limits = parseSandboxLimits({ PYTHON_SANDBOX_MEMORY: '1g', PYTHON_SANDBOX_CPUS: '2', PYTHON_SANDBOX_PIDS: '64' });

    expect(limits).toEqual({ memory: '1g', cpus: 2, pids: 64 });
  });

  it('names the invalid variable', () => {
    expect(() => parseSandboxLimits({ PYTHON_SANDBOX_PIDS: 'x' })).toThrow(/PYTHON_SANDBOX_PIDS/);
  });
});

describe('parseEventLine', () => {
  it('returns a protocol event as is', () => {
    const line = JSON.stringify({ type: 'sandbox:done', final: true, value: { a: 1 } });

    expect(parseEventLine(line)).toEqual({ type: 'sandbox:done', final: true, value: { a: 1 } });
  });

  it.each([
    ['plain text', 'hello'],
    ['JSON without a type', '{"a": 1}'],
    ['an unknown type', '{"type": "host:run"}'],
    ['a JSON array', '[1, 2]'],
  ])('wraps %s as printed output', (_case, line) => {
    expect(parseEventLine(line)).toEqual({ type: 'sandbox:stdout', text: `${line}\n` });
  });
});

describe('EventLineParser', () => {
  function collect(maxLineBytes = 1024): { parser: EventLineParser; events: SandboxEvent[] } {
    const events: SandboxEvent[] = [];
    return { parser: new EventLineParser((event) => events.push(event), maxLineBytes), events };
  }

  it('joins a line split across chunks', () => {
    const { parser, events } = collect();
    const line = `${JSON.stringify({ type: 'sandbox:debug', values: ['split'] })}\n`;

    parser.push(Buffer.from(line.slice(0, 10)));
    expect(events).toEqual([]);
    parser.push(Buffer.from(line.slice(10)));

    expect(events).toEqual([{ type: 'sandbox:debug', values: ['split'] }]);
  });

  it('splits several lines in one chunk', () => {
    const { parser, events } = collect();

    parser.push(Buffer.from('{"type":"sandbox:stdout","text":"a"}\n\n{"type":"sandbox:complete","packages":[]}\n'));

    expect(events.map((event) => event.type)).toEqual(['sandbox:stdout', 'sandbox:complete']);
  });

  it('decodes a character split across chunks', () => {
    const { parser, events } = collect();
    const bytes = Buffer.from(`${JSON.stringify({ type: 'sandbox:stdout', text: 'CO₂' })}\n`);
    const splitAt = bytes.indexOf(0xe2) + 1;

    parser.push(bytes.subarray(0, splitAt));
    parser.push(bytes.subarray(splitAt));

    expect(events).toEqual([{ type: 'sandbox:stdout', text: 'CO₂' }]);
  });

  it('flushes a last line without newline at end', () => {
    const { parser, events } = collect();

    parser.push(Buffer.from('{"type":"sandbox:complete","packages":["numpy"]}'));
    expect(events).toEqual([]);
    parser.end();

    expect(events).toEqual([{ type: 'sandbox:complete', packages: ['numpy'] }]);
  });

  it('throws when a line exceeds the bound', () => {
    const { parser } = collect(16);

    expect(() => parser.push(Buffer.from('x'.repeat(17)))).toThrow(LineTooLongError);
  });
});
