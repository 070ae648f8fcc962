/** Resolves on the first SIGINT or SIGTERM; `dispose` gives both back to their default handling. */
export function listenForStopSignals(): { received: Promise<NodeJS.Signals>; dispose(): void } {
  let resolve: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handler = (signal: NodeJS.Signals): void => resolve(signal);
  for (const signal of signals) process.on(signal, handler);
  return { received, dispose: () => signals.forEach((signal) => process.off(signal, handler)) };
}
