/**
 * One log line per event on stderr (REQ-WIRE-012): time, stage, event name of the
 * spec, then key=value fields. The conformance suite keeps stderr as the testee's log.
 */
export function logger(stage: string): (event: string, fields?: Record<string, string | number>) => void {
  return (event, fields = {}) => {
    const pairs = Object.entries(fields).map(([key, value]) => `${key}=${value}`);
    process.stderr.write(`${new Date().toISOString()} ${stage} ${[event, ...pairs].join(' ')}\n`);
  };
}

export type Log = ReturnType<typeof logger>;
