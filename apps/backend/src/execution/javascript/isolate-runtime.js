/*
 * Runtime evaluated inside every JavaScript isolate before the author's script runs.
 * It is plain JavaScript (no Node.js API exists in an isolate) and evaluates to
 * `createRuntime(tableHelperFactoryName)`. The host calls that once, after the table
 * helper's source has defined its factory, and gets `{ startRun, fireTimer }`:
 *
 *   startRun(sendEvent, inputJson, stdoutMaxChars, valueMaxBytes, maxEvents, userFunction)
 *   fireTimer(timerId)
 *
 * `sendEvent(kind, ...fields)` is a host callback in isolated-vm's "ignored" mode, so
 * calls are queued to the host in order and the script does not wait for them. The
 * host turns them into sandbox events. `startRun` is called once and resolves after it
 * has sent the run's last event, `complete` or `error`. The isolate has no timers of its
 * own, so `setTimeout` sends a `timer` event and the host calls `fireTimer` when it is due.
 */
(function createRuntime(tableHelperFactoryName) {
  'use strict';

  // Built-ins are captured before the author's code runs, so a script that replaces
  // them only garbles its own output and the host still receives valid JSON text.
  const stringifyJson = JSON.stringify;
  const parseJson = JSON.parse;
  const objectKeys = Object.keys;
  const isArray = Array.isArray;
  const isArrayBufferView = ArrayBuffer.isView;
  const dateNow = Date.now;
  const isFiniteNumber = Number.isFinite;
  const getPrototypeOf = Object.getPrototypeOf;
  const dateGetTime = Date.prototype.getTime;
  const dateToIsoString = Date.prototype.toISOString;
  const OriginalDate = Date;
  const OriginalMap = Map;
  const OriginalSet = Set;
  const OriginalPromise = Promise;
  const OriginalWeakMap = WeakMap;
  const OriginalWeakSet = WeakSet;
  const OriginalDataView = DataView;
  const OriginalArrayBuffer = ArrayBuffer;
  const OriginalRegExp = RegExp;
  const OriginalError = Error;
  const OriginalNumber = Number;
  const OriginalString = String;
  const OriginalBoolean = Boolean;
  const OriginalBigInt = BigInt;
  const createTableHelper = globalThis[tableHelperFactoryName];

  const MIN_SAFE_BIGINT = OriginalBigInt(Number.MIN_SAFE_INTEGER);
  const MAX_SAFE_BIGINT = OriginalBigInt(Number.MAX_SAFE_INTEGER);
  /** Nesting depth at which a value is rejected instead of overflowing the stack. */
  const MAX_VALUE_DEPTH = 1000;
  /** Paths named in one non-finite-number warning; the rest are counted. */
  const MAX_WARNING_PATHS = 20;
  /** Minimum time between two reports of truncated output characters to the host. */
  const DROPPED_REPORT_INTERVAL_MS = 100;

  /** Longest JSON path shown in a warning or error, and longest error message or stack sent to the host. */
  const MAX_PATH_CHARS = 200;
  const MAX_ERROR_TEXT_CHARS = 10_000;
  /** Pending `setTimeout` calls allowed at once, so a script cannot fill the host with timers. */
  const MAX_PENDING_TIMERS = 1000;

  const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

  // The same error names as the Python runtime, so both languages report the same types.
  class JsonConversionError extends TypeError {
    constructor(message) {
      super(message);
      this.name = 'JsonConversionError';
    }
  }

  class ValueTooLargeError extends RangeError {
    constructor(message) {
      super(message);
      this.name = 'ValueTooLargeError';
    }
  }

  /** Callbacks of pending timers by id, and the run's handler for an error one of them throws. */
  const pendingTimers = new OriginalMap();
  let nextTimerId = 1;
  let reportTimerError = null;

  function fireTimer(timerId) {
    const callback = pendingTimers.get(timerId);
    if (callback === undefined) {
      return;
    }
    pendingTimers.delete(timerId);
    try {
      callback();
    } catch (error) {
      reportTimerError(error);
    }
  }

  /** Shortens user-controlled text (keys, messages) that ends up in warnings and errors. */
  function shorten(text, maxChars) {
    if (text.length <= maxChars) {
      return text;
    }
    const half = Math.floor(maxChars / 2);
    return `${text.slice(0, half)}…${text.slice(text.length - half)}`;
  }

  function formatPath(segments) {
    let path = '$';
    for (const segment of segments) {
      if (typeof segment === 'number') {
        path += `[${segment}]`;
      } else if (IDENTIFIER.test(segment)) {
        path += `.${segment}`;
      } else {
        path += `[${stringifyJson(segment)}]`;
      }
    }
    return shorten(path, MAX_PATH_CHARS);
  }

  function describeType(value) {
    if (value === null) {
      return 'null';
    }
    if (typeof value === 'function') {
      return value.name ? `function ${value.name}` : 'function';
    }
    if (typeof value !== 'object') {
      return typeof value;
    }
    const prototype = getPrototypeOf(value);
    const constructorName = prototype && prototype.constructor && prototype.constructor.name;
    return constructorName ? `${constructorName} object` : 'object';
  }

  /**
   * Converts one `done()` or `debug()` value to a JSON-compatible tree with the same
   * rules as the Python runtime. Non-finite numbers become null and are recorded in
   * `state.nonFinitePaths`. Anything without a JSON form throws a JsonConversionError naming its path.
   */
  function convertValue(value, state) {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (isFiniteNumber(value)) {
          return value;
        }
        recordNonFinite(state, OriginalString(value));
        return null;
      case 'bigint':
        if (value >= MIN_SAFE_BIGINT && value <= MAX_SAFE_BIGINT) {
          return OriginalNumber(value);
        }
        return OriginalString(value);
      case 'undefined':
        return undefined;
      case 'function':
      case 'symbol':
        throw unconvertible(state, value, 'Pass plain data: objects, arrays, strings, numbers, booleans or null.');
      default:
        return convertObject(value, state);
    }
  }

  function convertObject(value, state) {
    if (value === null) {
      return null;
    }
    if (state.ancestors.has(value)) {
      throw unconvertible(state, value, 'The value contains itself (a circular structure). Copy the data you need into a new object.');
    }
    if (state.path.length >= MAX_VALUE_DEPTH) {
      throw unconvertible(state, value, `Values nested deeper than ${MAX_VALUE_DEPTH} levels are rejected. Flatten the structure.`);
    }

    state.ancestors.add(value);
    try {
      return convertObjectByKind(value, state);
    } finally {
      state.ancestors.delete(value);
    }
  }

  function convertObjectByKind(value, state) {
    if (value instanceof OriginalDate) {
      const time = dateGetTime.call(value);
      if (!isFiniteNumber(time)) {
        recordNonFinite(state, 'Invalid Date');
        return null;
      }
      return dateToIsoString.call(value);
    }
    if (value instanceof OriginalNumber || value instanceof OriginalString || value instanceof OriginalBoolean || value instanceof OriginalBigInt) {
      return convertValue(value.valueOf(), state);
    }
    if (isArray(value)) {
      return convertList(value, state);
    }
    if (isArrayBufferView(value) && !(value instanceof OriginalDataView)) {
      return convertList(value, state);
    }
    if (value instanceof OriginalMap) {
      return convertMap(value, state);
    }
    if (value instanceof OriginalSet) {
      return convertList([...value], state);
    }
    if (value instanceof OriginalPromise) {
      throw unconvertible(state, value, 'Await the promise and pass its result.');
    }
    if (
      value instanceof OriginalWeakMap ||
      value instanceof OriginalWeakSet ||
      value instanceof OriginalArrayBuffer ||
      value instanceof OriginalDataView ||
      value instanceof OriginalRegExp
    ) {
      throw unconvertible(state, value, 'Convert it to plain data (an object, array or string) first.');
    }
    if (value instanceof OriginalError) {
      return convertEntries({ name: value.name, message: value.message, ...value }, state);
    }
    if (typeof value.toJSON === 'function') {
      return convertValue(value.toJSON(), state);
    }
    return convertEntries(value, state);
  }

  function convertList(list, state) {
    const converted = [];
    for (let index = 0; index < list.length; index += 1) {
      state.path.push(index);
      const item = convertValue(list[index], state);
      state.path.pop();
      converted.push(item === undefined ? null : item);
    }
    return converted;
  }

  function convertMap(map, state) {
    const converted = {};
    for (const [key, item] of map) {
      const keyType = typeof key;
      if (keyType !== 'string' && keyType !== 'number' && keyType !== 'boolean' && keyType !== 'bigint') {
        throw unconvertible(state, key, 'Map keys must be strings, numbers, booleans or bigints to become JSON object keys.');
      }
      const name = OriginalString(key);
      state.path.push(name);
      const convertedItem = convertValue(item, state);
      state.path.pop();
      if (convertedItem !== undefined) {
        converted[name] = convertedItem;
      }
    }
    return converted;
  }

  function convertEntries(object, state) {
    const converted = {};
    for (const key of objectKeys(object)) {
      state.path.push(key);
      const item = convertValue(object[key], state);
      state.path.pop();
      if (item !== undefined) {
        converted[key] = item;
      }
    }
    return converted;
  }

  function recordNonFinite(state, shownValue) {
    if (state.nonFinitePaths.length < MAX_WARNING_PATHS) {
      state.nonFinitePaths.push(`${formatPath(state.path)} (${shownValue})`);
    }
    state.nonFiniteCount += 1;
  }

  function unconvertible(state, value, advice) {
    return new JsonConversionError(
      `${state.call} received a value that cannot be converted to JSON: ${describeType(value)} at ${formatPath(state.path)}. ${advice}`,
    );
  }

  function utf8ByteLength(text) {
    let bytes = 0;
    for (let index = 0; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      // A surrogate pair is 4 bytes in UTF-8, so each half counts 2.
      if (code < 0x80) {
        bytes += 1;
      } else if (code < 0x800 || (code >= 0xd800 && code <= 0xdfff)) {
        bytes += 2;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  function formatForConsole(value, ancestors, depth) {
    switch (typeof value) {
      case 'string':
        return depth === 0 ? value : stringifyJson(value);
      case 'bigint':
        return `${value}n`;
      case 'symbol':
        return value.toString();
      case 'function':
        return `[Function: ${value.name || 'anonymous'}]`;
      case 'object':
        return formatObjectForConsole(value, ancestors, depth);
      default:
        return OriginalString(value);
    }
  }

  function formatObjectForConsole(value, ancestors, depth) {
    if (value === null) {
      return 'null';
    }
    if (ancestors.includes(value)) {
      return '[Circular]';
    }
    if (value instanceof OriginalError) {
      return `${value.name}: ${value.message}`;
    }
    if (value instanceof OriginalDate) {
      return isFiniteNumber(dateGetTime.call(value)) ? dateToIsoString.call(value) : 'Invalid Date';
    }
    if (depth >= 6) {
      return isArray(value) ? '[Array]' : '[Object]';
    }

    const inner = [...ancestors, value];
    if (isArray(value) || value instanceof OriginalSet) {
      const items = [...value].map((item) => formatForConsole(item, inner, depth + 1));
      return `[${items.join(', ')}]`;
    }
    const entries = value instanceof OriginalMap ? [...value] : objectKeys(value).map((key) => [key, value[key]]);
    const fields = entries.map(([key, item]) => `${OriginalString(key)}: ${formatForConsole(item, inner, depth + 1)}`);
    return `{${fields.join(', ')}}`;
  }

  const FORMAT_SPECIFIER = /%[sdifjoOc%]/g;

  function applySpecifier(specifier, value) {
    switch (specifier) {
      case '%s':
        return typeof value === 'string' ? value : formatForConsole(value, [], 1);
      case '%d':
        return typeof value === 'bigint' ? `${value}n` : OriginalString(typeof value === 'object' ? NaN : OriginalNumber(value));
      case '%i':
        return typeof value === 'bigint' ? `${value}n` : OriginalString(parseInt(value, 10));
      case '%f':
        return OriginalString(parseFloat(value));
      case '%j':
        try {
          return stringifyJson(value);
        } catch {
          return '[Circular]';
        }
      case '%c':
        return '';
      default:
        return formatForConsole(value, [], 1);
    }
  }

  /**
   * Formats console arguments like Node.js's util.format: a first string argument may
   * contain %s, %d, %i, %f, %j, %o, %O, %c and %%, and other arguments follow, separated by spaces.
   */
  function formatConsoleLine(values) {
    let rest = values;
    let head = '';
    if (typeof values[0] === 'string' && values[0].includes('%')) {
      let next = 1;
      head = values[0].replace(FORMAT_SPECIFIER, (specifier) => {
        if (specifier === '%%') {
          return '%';
        }
        if (next >= values.length) {
          return specifier;
        }
        const value = values[next];
        next += 1;
        return applySpecifier(specifier, value);
      });
      rest = values.slice(next);
    } else if (values.length > 0) {
      head = formatForConsole(values[0], [], 0);
      rest = values.slice(1);
    }
    const tail = rest.map((value) => formatForConsole(value, [], 0));
    return [head, ...tail].join(' ');
  }

  async function startRun(sendEvent, inputJson, stdoutMaxChars, valueMaxBytes, maxEvents, userFunction) {
    const input = parseJson(inputJson);
    let forwardedEvents = 0;
    let droppedEvents = 0;
    // A done() or debug() value that cannot be sent fails the run even if the script catches the error.
    let fatalError = null;
    const streams = {
      stdout: { keptChars: 0, droppedChars: 0, reportedAt: 0 },
      stderr: { keptChars: 0, droppedChars: 0, reportedAt: 0 },
    };

    function writeOutput(streamName, text) {
      const stream = streams[streamName];
      const room = stdoutMaxChars - stream.keptChars;
      if (text.length <= room) {
        stream.keptChars += text.length;
        sendEvent(streamName, text);
        return;
      }

      let keptLength = room > 0 ? room : 0;
      const lastKeptCode = text.charCodeAt(keptLength - 1);
      // Cutting between the halves of a surrogate pair would leave an invalid character.
      if (keptLength > 0 && lastKeptCode >= 0xd800 && lastKeptCode <= 0xdbff) {
        keptLength -= 1;
      }
      if (keptLength > 0) {
        sendEvent(streamName, text.slice(0, keptLength));
      }
      stream.keptChars = stdoutMaxChars;
      stream.droppedChars += text.length - keptLength;

      const now = dateNow();
      if (now - stream.reportedAt >= DROPPED_REPORT_INTERVAL_MS) {
        stream.reportedAt = now;
        sendEvent('dropped', streamName, stream.droppedChars);
      }
    }

    function printer(streamName) {
      return function print(...values) {
        writeOutput(streamName, `${formatConsoleLine(values)}\n`);
      };
    }

    function admitEvent() {
      if (forwardedEvents < maxEvents) {
        forwardedEvents += 1;
        return true;
      }
      if (droppedEvents === 0) {
        sendEvent(
          'warning',
          'too-many-events',
          `done() and debug() were called more than ${maxEvents} times; later calls were dropped.`,
        );
      }
      droppedEvents += 1;
      return false;
    }

    function toJsonText(value, call) {
      const state = { call, path: [], ancestors: new OriginalSet(), nonFinitePaths: [], nonFiniteCount: 0 };
      let converted;
      try {
        converted = convertValue(value, state);
      } catch (error) {
        fatalError = error;
        throw error;
      }

      const text = stringifyJson(converted === undefined ? null : converted);
      // Every UTF-8 character takes 1 to 3 bytes per UTF-16 code unit, so only sizes in between need counting.
      const tooLarge = text.length > valueMaxBytes || (text.length * 3 > valueMaxBytes && utf8ByteLength(text) > valueMaxBytes);
      if (tooLarge) {
        fatalError = new ValueTooLargeError(
          `${call} received a value of ${utf8ByteLength(text)} bytes as JSON, over the limit of ${valueMaxBytes} bytes. Send a smaller value, or split it over several done(value, false) calls.`,
        );
        throw fatalError;
      }

      if (state.nonFiniteCount > 0) {
        const more = state.nonFiniteCount - state.nonFinitePaths.length;
        const listed = state.nonFinitePaths.join(', ') + (more > 0 ? ` and ${more} more` : '');
        sendEvent(
          'warning',
          'non-finite-number',
          `${call}: ${listed} replaced by null, because JSON has no NaN, Infinity or invalid dates.`,
        );
      }
      return text;
    }

    function done(result, final = true) {
      if (!admitEvent()) {
        return;
      }
      sendEvent('done', toJsonText(result, 'done()'), OriginalBoolean(final));
    }

    function debug(...values) {
      if (!admitEvent()) {
        return;
      }
      sendEvent('debug', toJsonText(values, 'debug()'));
    }

    function describeError(error) {
      if (error instanceof OriginalError || (error && typeof error === 'object' && 'message' in error)) {
        return {
          name: shorten(OriginalString(error.name ?? 'Error'), MAX_PATH_CHARS),
          message: shorten(OriginalString(error.message), MAX_ERROR_TEXT_CHARS),
          stack: typeof error.stack === 'string' ? shorten(error.stack, MAX_ERROR_TEXT_CHARS) : '',
        };
      }
      const thrownText = shorten(formatForConsole(error, [], 1), MAX_ERROR_TEXT_CHARS);
      return { name: 'Error', message: `A non-error value was thrown: ${thrownText}`, stack: '' };
    }

    function sendError(error) {
      let description;
      try {
        description = describeError(error);
      } catch {
        description = { name: 'Error', message: 'The script threw a value whose name or message could not be read.', stack: '' };
      }
      sendEvent('error', description.name, description.message, description.stack);
    }

    function reportDroppedOutput() {
      for (const streamName of ['stdout', 'stderr']) {
        if (streams[streamName].droppedChars > 0) {
          sendEvent('dropped', streamName, streams[streamName].droppedChars);
        }
      }
    }

    function setTimeoutForScript(callback, delayMs, ...callbackArguments) {
      if (typeof callback !== 'function') {
        throw new TypeError(`setTimeout() expects a function as its first argument, but got ${describeType(callback)}.`);
      }
      if (pendingTimers.size >= MAX_PENDING_TIMERS) {
        throw new RangeError(`setTimeout() was rejected: ${MAX_PENDING_TIMERS} timers are already pending. Clear timers you no longer need with clearTimeout().`);
      }
      const timerId = nextTimerId;
      nextTimerId += 1;
      pendingTimers.set(timerId, () => callback(...callbackArguments));
      const delay = OriginalNumber(delayMs);
      sendEvent('timer', timerId, isFiniteNumber(delay) && delay > 0 ? delay : 0);
      return timerId;
    }

    function clearTimeoutForScript(timerId) {
      pendingTimers.delete(timerId);
    }

    // An error thrown by a timer callback ends the run, as an uncaught exception ends a Node.js process.
    reportTimerError = (error) => {
      reportDroppedOutput();
      sendError(error);
    };

    globalThis.setTimeout = setTimeoutForScript;
    globalThis.clearTimeout = clearTimeoutForScript;
    globalThis.console = {
      log: printer('stdout'),
      info: printer('stdout'),
      debug: printer('stdout'),
      warn: printer('stderr'),
      error: printer('stderr'),
    };
    const mathjs = globalThis.math;
    const formulajs = globalThis.formulajs;
    delete globalThis.math;

    let thrown = null;
    try {
      if (typeof createTableHelper !== 'function') {
        throw new TypeError(`The table helper factory ${tableHelperFactoryName} is not defined in the isolate.`);
      }
      const table = createTableHelper(input.tables);
      // Guardian calls the script with the documents as `this`, and the order matches SCRIPT_PARAMETERS.
      await userFunction.call(
        input.documents,
        done,
        input.user,
        input.documents,
        mathjs,
        input.artifacts,
        formulajs,
        input.sources,
        debug,
        table,
      );
    } catch (error) {
      thrown = error;
    }

    reportDroppedOutput();
    if (fatalError !== null || thrown !== null) {
      sendError(fatalError ?? thrown);
      return;
    }
    sendEvent('complete');
  }

  return { startRun, fireTimer };
})
