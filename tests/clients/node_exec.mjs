// exec through the official Kubernetes JavaScript client (@kubernetes/client-node, pinned in
// package-lock.json).
// usage: node node_exec.mjs SERVER_URL POD CONTAINER COMMAND [ARG...]
// Prints one JSON line: {"stdout", "stderr", "status", "version"}.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';

let k8s;
try {
  k8s = await import('@kubernetes/client-node');
} catch (e) {
  console.error(`@kubernetes/client-node is not installed (run npm ci in tests/clients): ${e.message}`);
  process.exit(3);
}

const [url, pod, container, ...command] = process.argv.slice(2);
const kc = new k8s.KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'sim', server: url, skipTLSVerify: true }],
  users: [{ name: 'user' }],
  contexts: [{ name: 'sim', cluster: 'sim', user: 'user' }],
  currentContext: 'sim',
});

const sink = () => {
  const chunks = [];
  const w = new Writable({ write(chunk, _enc, cb) { chunks.push(Buffer.from(chunk)); cb(); } });
  w.text = () => Buffer.concat(chunks).toString('utf8');
  return w;
};
const stdout = sink();
const stderr = sink();
const timer = setTimeout(() => { console.error('timed out'); process.exit(2); }, 30000);
const done = new Promise((resolve) => {
  new k8s.Exec(kc)
    .exec('default', pod, container, command, stdout, stderr, null, false, (status) => resolve(status))
    .then((ws) => ws.on('close', () => setTimeout(() => resolve(undefined), 2000)))
    .catch((e) => { console.error(`exec failed: ${e.message ?? e}`); process.exit(1); });
});
const status = await done;
clearTimeout(timer);
const pkg = JSON.parse(readFileSync(new URL('./node_modules/@kubernetes/client-node/package.json', import.meta.url)));
console.log(JSON.stringify({ stdout: stdout.text(), stderr: stderr.text(), status, version: pkg.version }));
process.exit(0);
