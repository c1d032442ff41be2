import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths never written to logs, wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'token', '*.token', 'password', '*.password', 'secret', '*.secret', 'authorization', '*.authorization',
  'headers.authorization', 'req.headers.authorization', 'hmac_secret', '*.hmac_secret', 'bearer_token', '*.bearer_token',
  'url_with_credentials', 'mongodb_url', '*.mongodb_url',
];

/** The root logger: JSON lines, pretty when stdout is a terminal. Components take `logger.child({ actor })`. */
export function createLogger(level = 'info', options: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && !options.destination);
  const base: LoggerOptions = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  if (pretty) return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  return options.destination ? pino(base, options.destination) : pino(base);
}
