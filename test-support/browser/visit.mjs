// Drives a headless Chromium over the DevTools protocol, as a user would the hub: opens URL, waits for it to load,
// optionally types QUERY into the search box and waits for the results to change, lets what the page queued run
// (image errors, load handlers, timers), and prints one JSON line of what the page then shows and did.
//
// usage: node --experimental-websocket visit.mjs http://127.0.0.1:DEVTOOLS_PORT URL [--search QUERY] [--bypass-csp]
//
// --bypass-csp loads the page without its Content-Security-Policy, so that markup the hub failed to escape would
// run instead of being refused: what is left is the escaping and the sanitising alone.
//
// Printed: `url`, `status` (of the page's document), `title`, `h1`, `text` (the main element's text), `search`
// (the address's query), `repositories` (the results' headings), `links` (the main element's links: text, href),
// `styled` (whether the style sheet applied), `xss` (window.__xss, which the tests' payloads set), `dialogs`
// (alert/confirm/prompt messages, each dismissed), `injected` (elements or attributes that could run script or load
// something, which the hub never writes itself) and `errors` (the console's, with their source).

const args = process.argv.slice(2);
const [devtools, url] = args;
const option = (name) => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};
const query = option('--search');
const bypassCsp = args.includes('--bypass-csp');
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

let page;
for (let attempt = 0; attempt < 100 && !page; attempt++) {
  const targets = await (await fetch(`${devtools}/json/list`)).json();
  page = targets.find((target) => target.type === 'page');
  if (!page) await sleep(100);
}
if (!page) throw new Error(`no page among the targets of ${devtools}`);

const socket = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((open, fail) => {
  socket.onopen = open;
  socket.onerror = fail;
});
const replies = new Map();
const errors = [];
const dialogs = [];
let status = null;
// Enabling the Log and Runtime domains replays what earlier pages logged: only what this visit's page logs counts.
let recording = false;
const loads = new Set();
let next = 0;
const send = (method, params = {}) => {
  next += 1;
  socket.send(JSON.stringify({ id: next, method, params }));
  return next;
};
const call = (method, params = {}) =>
  new Promise((done) => {
    replies.set(send(method, params), done);
  });
socket.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.id && replies.has(data.id)) {
    replies.get(data.id)(data);
    replies.delete(data.id);
  } else if (data.method === 'Page.javascriptDialogOpening') {
    if (recording) dialogs.push(`${data.params.type}: ${data.params.message}`);
    send('Page.handleJavaScriptDialog', { accept: false });
  } else if (!recording) {
    return;
  } else if (data.method === 'Log.entryAdded' && data.params.entry.level === 'error') {
    const { source, text, url } = data.params.entry;
    errors.push(url ? `${source}: ${text} (${url})` : `${source}: ${text}`);
  } else if (data.method === 'Runtime.exceptionThrown') {
    errors.push(`exception: ${data.params.exceptionDetails.text}`);
  } else if (data.method === 'Network.responseReceived' && data.params.type === 'Document') {
    status = data.params.response.status;
  } else if (data.method === 'Page.lifecycleEvent' && data.params.name === 'load') {
    loads.add(data.params.loaderId);
  }
};
const evaluate = async (expression) => {
  const reply = await call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
  if (reply.error || reply.result.exceptionDetails) {
    throw new Error(`${expression}: ${JSON.stringify(reply.error || reply.result.exceptionDetails)}`);
  }
  return reply.result.result.value;
};
const until = async (what, check) => {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
};

await call('Log.enable');
await call('Runtime.enable');
await call('Page.enable');
await call('Network.enable');
await call('Page.setLifecycleEventsEnabled', { enabled: true });
await call('Page.setBypassCSP', { enabled: bypassCsp });
await call('Log.clear');
recording = true;
const navigated = await call('Page.navigate', { url });
if (navigated.error || navigated.result.errorText) {
  throw new Error(`opening ${url}: ${JSON.stringify(navigated.error || navigated.result.errorText)}`);
}
await until(`${url} to load`, () => loads.has(navigated.result.loaderId));
if (query !== undefined) {
  await until('the search box', () => evaluate("!!document.getElementById('q') && !!document.getElementById('results')"));
  const before = await evaluate("document.getElementById('results').innerHTML");
  await evaluate(`(() => {
    const box = document.getElementById('q');
    box.focus();
    box.value = ${JSON.stringify(query)};
    box.dispatchEvent(new Event('input', { bubbles: true }));
  })()`);
  await until('the results to change', () =>
    evaluate(`document.getElementById('results').innerHTML !== ${JSON.stringify(before)}`),
  );
}
// Whatever the page queued (an image's error, an element's load handler, a timer) runs now, if it runs at all.
await sleep(100);

const shown = await evaluate(`(() => {
  const main = document.querySelector('main');
  const injected = [];
  const forbidden = new Set(['iframe', 'frame', 'frameset', 'img', 'svg', 'math', 'object', 'embed', 'base', 'link',
    'audio', 'video', 'source', 'picture', 'template', 'textarea', 'portal', 'applet']);
  const urlAttributes = new Set(['href', 'src', 'action', 'data', 'xlink:href', 'poster', 'background', 'formaction']);
  const show = (element) => element.outerHTML.slice(0, 200);
  for (const element of document.querySelectorAll('*')) {
    if (forbidden.has(element.localName)) injected.push(show(element));
    if (element.localName === 'meta' && element.parentElement !== document.head) injected.push(show(element));
    if (element.localName === 'form' && !element.getAttribute('action')?.startsWith('/hub')) injected.push(show(element));
    for (const attribute of element.attributes) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      const scheme = /^[a-z][a-z0-9+.-]*:/.exec(value);
      if (name.startsWith('on') || name === 'style' || name === 'srcdoc' ||
          (urlAttributes.has(name) && scheme && !['http:', 'https:'].includes(scheme[0]))) {
        injected.push(name + '=' + JSON.stringify(attribute.value) + ' on ' + show(element));
      }
    }
  }
  if (document.scripts.length !== 1) injected.push(document.scripts.length + ' script elements');
  if (document.querySelectorAll('style').length !== 1) injected.push(document.querySelectorAll('style').length + ' style elements');
  const header = document.querySelector('header');
  return {
    url: location.href,
    title: document.title,
    h1: document.querySelector('h1')?.textContent ?? null,
    text: main ? main.innerText : '',
    search: location.search,
    repositories: [...document.querySelectorAll('#results h2')].map((h) => h.textContent),
    links: main ? [...main.querySelectorAll('a')].map((a) => ({ text: a.textContent, href: a.getAttribute('href') })) : [],
    styled: !!header && getComputedStyle(header).borderBottomStyle === 'solid',
    xss: window.__xss ?? null,
    injected,
  };
})()`);
console.log(JSON.stringify({ ...shown, status, dialogs, errors }));
socket.close();
