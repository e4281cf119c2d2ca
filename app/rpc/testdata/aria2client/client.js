// Drives Dragonload's aria2-compatible JSON-RPC server with the aria2 npm
// client (aria2.js), over HTTP and WebSocket, the way AriaNg and browser
// extensions use aria2. Run by app/rpc/npm_test.go, which starts the server,
// the engine and the test origins and passes them in the environment:
//
//   RPC_PORT, RPC_SECRET   the server
//   FAST_URL               a file that downloads in well under a second
//   SLOW_URL               a file slow enough to pause and remove
//   OUT_DIR                the folder to download into (option "dir")
//
// Prints one line of JSON {"ok":true,...} and exits 0 when every check
// holds; prints the failure and exits 1 otherwise.
"use strict";

const assert = require("assert");
const Aria2 = require("aria2");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const port = Number(env("RPC_PORT"));
const secret = env("RPC_SECRET");
const fastURL = env("FAST_URL");
const slowURL = env("SLOW_URL");
const dir = env("OUT_DIR");
const host = "127.0.0.1";

const step = (what) => console.error(`step: ${what}`);

// Notifications seen over the WebSocket, in order.
const seen = [];
let wake = () => {};

function count(name, gid) {
  return seen.filter((e) => e.name === name && e.gid === gid).length;
}

// waitEvent resolves once the n-th notification `name` for gid arrived.
function waitEvent(name, gid, n = 1, ms = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `no ${name} #${n} for ${gid} within ${ms} ms; seen ${JSON.stringify(seen)}`
          )
        ),
      ms
    );
    const check = () => {
      if (count(name, gid) >= n) {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (name !== "onDownloadError" && count("onDownloadError", gid) > 0) {
        clearTimeout(timer);
        reject(new Error(`${gid} failed while waiting for ${name}`));
        return;
      }
      const prev = wake;
      wake = () => {
        prev();
        check();
      };
    };
    check();
  });
}

async function rejectsUnauthorized(promise, what) {
  await assert.rejects(
    promise,
    (err) => err.code === 1 && err.message === "Unauthorized",
    `${what} must be refused as Unauthorized`
  );
}

async function main() {
  const aria2 = new Aria2({ host, port, secure: false, secret, path: "/jsonrpc" });
  // A second client that stays on HTTP.
  const http = new Aria2({ host, port, secure: false, secret, path: "/jsonrpc" });

  step("getVersion and listMethods over HTTP");
  const version = await http.call("getVersion");
  assert.ok(typeof version.version === "string" && version.version.length > 0, "getVersion has a version");
  assert.ok(Array.isArray(version.enabledFeatures), "getVersion has enabledFeatures");
  const methods = await http.listMethods();
  for (const m of ["addUri", "tellStatus", "tellActive", "tellWaiting", "tellStopped", "pause", "unpause", "remove", "getGlobalStat", "getVersion", "system.multicall"]) {
    assert.ok(methods.includes(m), `listMethods includes ${m}: ${methods}`);
  }

  step("refusals over HTTP");
  await rejectsUnauthorized(new Aria2({ host, port, secret: secret + "x" }).call("getVersion"), "a wrong secret");
  await rejectsUnauthorized(new Aria2({ host, port }).call("tellActive"), "no secret");
  await assert.rejects(http.call("shutdown"), (err) => err.code === -32601, "an unknown method");

  step("open the WebSocket");
  for (const name of ["onDownloadStart", "onDownloadPause", "onDownloadStop", "onDownloadComplete", "onDownloadError"]) {
    aria2.on(name, (params) => {
      seen.push({ name, gid: params[0].gid });
      const w = wake;
      wake = () => {};
      w();
    });
  }
  await aria2.open();
  const notifications = await aria2.listNotifications();
  assert.ok(notifications.includes("onDownloadComplete"), `listNotifications: ${notifications}`);

  step("addUri a file and watch it complete");
  const fast = await aria2.call("addUri", [fastURL], { dir, out: "fast.bin", header: ["X-From: aria2.js"] });
  assert.match(fast, /^[0-9a-f]{16}$/, "addUri answers a 16-hex-digit GID");
  await waitEvent("onDownloadComplete", fast);
  assert.ok(count("onDownloadStart", fast) >= 1, "onDownloadStart came before onDownloadComplete");
  const done = await aria2.call("tellStatus", fast);
  assert.strictEqual(done.gid, fast);
  assert.strictEqual(done.status, "complete");
  assert.strictEqual(done.errorCode, "0");
  assert.ok(Number(done.totalLength) > 0, `totalLength ${done.totalLength}`);
  assert.strictEqual(done.completedLength, done.totalLength);
  assert.strictEqual(done.dir, dir);
  assert.strictEqual(done.files[0].path, `${dir}/fast.bin`);
  assert.strictEqual(done.files[0].uris[0].uri, fastURL);
  // The same seen by polling over HTTP, keys filtered.
  const polled = await http.call("tellStatus", fast, ["status", "completedLength"]);
  assert.deepStrictEqual(Object.keys(polled).sort(), ["completedLength", "status"]);
  assert.strictEqual(polled.status, "complete");

  step("pause, unpause and remove a running download");
  const slow = await aria2.call("addUri", [slowURL], { dir, out: "slow.bin" });
  await waitEvent("onDownloadStart", slow);
  const active = await aria2.call("tellActive", ["gid", "status"]);
  assert.deepStrictEqual(active, [{ gid: slow, status: "active" }]);
  assert.strictEqual(await aria2.call("pause", slow), slow);
  await waitEvent("onDownloadPause", slow);
  assert.strictEqual((await aria2.call("tellStatus", slow, ["status"])).status, "paused");
  const waiting = await http.call("tellWaiting", 0, 10, ["gid", "status"]);
  assert.deepStrictEqual(waiting, [{ gid: slow, status: "paused" }]);
  assert.strictEqual(await aria2.call("unpause", slow), slow);
  await waitEvent("onDownloadStart", slow, 2);
  assert.strictEqual(await aria2.call("remove", slow), slow);
  await waitEvent("onDownloadStop", slow);
  const removed = await aria2.call("tellStatus", slow, ["status", "errorCode"]);
  assert.deepStrictEqual(removed, { status: "removed", errorCode: "31" });

  step("multicall and tellStopped");
  const results = await aria2.multicall([
    ["tellStatus", fast, ["status"]],
    ["getGlobalStat"],
  ]);
  assert.deepStrictEqual(results[0], [{ status: "complete" }]);
  assert.strictEqual(results[1][0].numActive, "0");
  assert.strictEqual(results[1][0].numStopped, "2");
  const stopped = await aria2.call("tellStopped", 0, 10, ["gid", "status"]);
  assert.deepStrictEqual(stopped, [
    { gid: fast, status: "complete" },
    { gid: slow, status: "removed" },
  ]);
  await assert.rejects(aria2.call("tellStatus", "0123456789abcdef"), (err) => err.code === 1 && /not found/.test(err.message));

  step("removeDownloadResult");
  assert.strictEqual(await aria2.call("removeDownloadResult", slow), "OK");
  await assert.rejects(aria2.call("tellStatus", slow), (err) => err.code === 1);

  await aria2.close();
  console.log(JSON.stringify({ ok: true, fast, slow, notifications: seen }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error("FAIL:", (err && err.stack) || err);
    process.exit(1);
  }
);
