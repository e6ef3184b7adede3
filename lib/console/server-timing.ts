// An API answer with the time the server spent on it as Server-Timing: what bench:api reports as server time
// (the loopback round trip adds the HTTP stack and the client's parsing on top).

/** The JSON answer of work(), with its duration as Server-Timing `metric;dur=ms`. */
export async function timedJson(metric: string, work: () => Promise<unknown>): Promise<Response> {
  const started = performance.now();
  const body = await work();
  return Response.json(body, { headers: { 'Server-Timing': `${metric};dur=${(performance.now() - started).toFixed(1)}` } });
}
