export default function Home() {
  return (
    <main className="mx-auto max-w-5xl p-8">
      <h1 className="text-2xl font-semibold">Conntrack Console</h1>
      <p className="mt-2 text-slate-600">The connection-tracking table of this router.</p>
    </main>
  );
}
