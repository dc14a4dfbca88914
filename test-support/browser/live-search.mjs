// Drives a headless Chromium over the DevTools protocol, as a user would the hub: waits for the page, types QUERY
// into the search box, waits for the results to change, and prints one JSON line: the address, the repositories
// listed, and the console errors (a Content-Security-Policy refusal would be one).
//
// usage: node --experimental-websocket live-search.mjs http://127.0.0.1:DEVTOOLS_PORT QUERY

const [, , devtools, query] = process.argv;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

let page;
for (let attempt = 0; attempt < 100 && !page; attempt++) {
  const targets = await (await fetch(`${devtools}/json/list`)).json();
  page = targets.find((target) => target.type === 'page' && target.url.includes('/hub'));
  if (!page) await sleep(100);
}
if (!page) throw new Error(`no hub page among the targets of ${devtools}`);

const socket = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((open, fail) => {
  socket.onopen = open;
  socket.onerror = fail;
});
const replies = new Map();
const errors = [];
socket.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.id && replies.has(data.id)) {
    replies.get(data.id)(data);
    replies.delete(data.id);
  } else if (data.method === 'Log.entryAdded' && data.params.entry.level === 'error') {
    errors.push(data.params.entry.text);
  } else if (data.method === 'Runtime.exceptionThrown') {
    errors.push(data.params.exceptionDetails.text);
  }
};
let next = 0;
const call = (method, params = {}) =>
  new Promise((done) => {
    next += 1;
    replies.set(next, done);
    socket.send(JSON.stringify({ id: next, method, params }));
  });
const evaluate = async (expression) =>
  (await call('Runtime.evaluate', { expression, returnByValue: true })).result.result.value;
const until = async (expression) => {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await evaluate(expression)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${expression}`);
};

await call('Log.enable');
await call('Runtime.enable');
await call('Page.reload');
await until("document.readyState === 'complete' && !!document.getElementById('q')");
const before = await evaluate("document.getElementById('results').innerHTML");
await evaluate(`(() => {
  const box = document.getElementById('q');
  box.focus();
  box.value = ${JSON.stringify(query)};
  box.dispatchEvent(new Event('input', { bubbles: true }));
})()`);
await until(`document.getElementById('results').innerHTML !== ${JSON.stringify(before)}`);
const shown = await evaluate(`JSON.stringify({
  search: location.search,
  repositories: [...document.querySelectorAll('#results h2')].map((h) => h.textContent),
  styled: getComputedStyle(document.querySelector('header')).borderBottomStyle === 'solid',
})`);
console.log(JSON.stringify({ ...JSON.parse(shown), errors }));
socket.close();
