// Whether work yields to the event loop in steps: the stepped snapshot work (orders, text, groupings) is tested with it.

/** How many event-loop turns other work got while `work` ran: more than one means it yielded in steps. */
export async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  await work();
  done = true;
  return turns;
}
