// How a foreground peer ends: on a signal, or when the parent that started it goes away.

/**
 * Resolves after `stop` ran, on SIGINT, SIGTERM or the loss of the parent's IPC channel (a
 * parent that dies without stopping its children must not leave them running). A second
 * signal while stopping exits at once.
 */
export function stopOnSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onStop = () => {
      if (stopping) process.exit(1);
      stopping = true;
      stop().then(resolve, reject);
    };
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
    if (process.channel !== undefined) {
      process.on('disconnect', onStop);
      // The channel must not keep the process alive by itself, only tell us when it closes.
      process.channel.unref();
    }
  });
}
