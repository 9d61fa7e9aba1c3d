/**
 * A scheduler for work that collects what arrives during one turn of the event loop: calling it
 * any number of times in a turn runs `flush` once, at the end of that turn (setImmediate, after
 * the turn's I/O callbacks). `flush` takes what it can and answers whether more waits; if so it
 * runs again in the next turn.
 */
export function nextTurn(flush: () => boolean): () => void {
  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (flush()) schedule();
    });
  };
  return schedule;
}
