/**
 * Command-line helpers shared by `npm run bench` and `npm run loadtest`.
 */

/**
 * Returns `fail(message)`, which prints the message after the tool's name and exits with
 * 2 (invalid options), and `positiveInteger(option, text, fallback)`, which parses an
 * option's value or fails naming the option.
 */
export function optionParsers(toolName) {
  const fail = (message) => {
    process.stderr.write(`${toolName}: ${message}\n`);
    process.exit(2);
  };

  const positiveInteger = (option, text, fallback) => {
    if (text === undefined) {
      return fallback;
    }
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      fail(`${option} must be a positive integer, got "${text}".`);
    }
    return value;
  };

  return { fail, positiveInteger };
}
