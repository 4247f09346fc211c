// A real TypeScript-SDK MCP client (the one the conformance suite installs) for the e2e tests:
//   node ts_client.mjs SDK_DIR URL streamable|sse
// initialize, ping, tools/list, tools/call add {a: 2, b: 3}, resources/templates/list, prompts/get;
// prints one JSON line with what it saw; exit 1 on any error.
const [sdk, url, transport] = process.argv.slice(2);
const { Client } = await import(`${sdk}/dist/esm/client/index.js`);
const { StreamableHTTPClientTransport } = await import(`${sdk}/dist/esm/client/streamableHttp.js`);
const { SSEClientTransport } = await import(`${sdk}/dist/esm/client/sse.js`);
try {
  const client = new Client({ name: "flowrt-ts-e2e", version: "1.0.0" }, { capabilities: {} });
  const t = transport === "sse" ? new SSEClientTransport(new URL(url)) : new StreamableHTTPClientTransport(new URL(url));
  await client.connect(t);
  await client.ping();
  const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
  const sum = await client.callTool({ name: "add", arguments: { a: 2, b: 3 } });
  const counted = await client.callTool({ name: "word_count", arguments: { text: "one two" } });
  const templates = (await client.listResourceTemplates()).resourceTemplates.map((r) => r.uriTemplate);
  const prompt = await client.getPrompt({ name: "summarize", arguments: { text: "abc" } });
  console.log(JSON.stringify({
    server: client.getServerVersion(), version: t.protocolVersion ?? null, tools,
    sum: sum.content[0].text, structured: counted.structuredContent, templates,
    prompt: prompt.messages[0].content.text,
  }));
  await client.close();
  process.exit(0);
} catch (err) {
  console.error(String(err && err.stack || err));
  process.exit(1);
}
