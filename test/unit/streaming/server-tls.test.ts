// URLs (absolute, naming the bound address) and TLS, with and without client certificates.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FailedPreconditionError } from "../../../src/errors.js";
import { silentLogger } from "../../../src/log.js";
import { StreamingServer } from "../../../src/streaming/server.js";
import { Client, notSpdy, startServer, type Harness } from "./helpers.js";
import { echoReq } from "./raw-http.js";

describe("streaming server: URLs and TLS", function () {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.close();
    h = undefined;
  });

  it("URLs are absolute and name the bound address (IPv6 in brackets)", async () => {
    h = await startServer({ address: "[::1]:0" });
    const url = h.server.url(echoReq);
    expect(url).to.match(new RegExp(`^http://\\[::1\\]:${h.port}/exec/[A-Za-z0-9_-]+$`));
    const c = await Client.connect(url, ["v5.channel.k8s.io"]);
    await c.closed;
    expect(c.text(1)).to.equal("over spdy\n");
    const unbound = new StreamingServer({
      address: "127.0.0.1:0",
      runtime: h.runtime,
      spdy: notSpdy,
      limits: { streamCreationTimeoutMs: 1000, idleTimeoutMs: 0 },
      maxSessions: 1,
      log: silentLogger(),
    });
    expect(() => unbound.url(echoReq)).to.throw(FailedPreconditionError);
  });

  describe("TLS", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), "berth-stream-tls-"));
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-keyout",
          path.join(dir, "key.pem"),
          "-out",
          path.join(dir, "cert.pem"),
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ],
        { stdio: "ignore" },
      );
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("serves https URLs with the given certificate", async () => {
      const certFile = path.join(dir, "cert.pem");
      h = await startServer({ tls: { certFile, keyFile: path.join(dir, "key.pem") } });
      const url = h.server.url(echoReq);
      expect(url.startsWith(`https://127.0.0.1:${h.port}/exec/`)).to.equal(true);
      const c = await Client.connect(url, ["v5.channel.k8s.io"], { ca: readFileSync(certFile) });
      await c.closed;
      expect(c.text(1)).to.equal("over spdy\n");
      // A client that does not trust the certificate does not get in.
      let err: unknown;
      try {
        await Client.connect(h.server.url(echoReq), ["v5.channel.k8s.io"]);
      } catch (e) {
        err = e;
      }
      expect(String(err)).to.match(/self[- ]signed|certificate/i);
    });

    it("with caFile, requires a client certificate signed by it", async () => {
      const certFile = path.join(dir, "cert.pem");
      const keyFile = path.join(dir, "key.pem");
      h = await startServer({ tls: { certFile, keyFile, caFile: certFile } });
      const ca = readFileSync(certFile);
      let err: unknown;
      try {
        const c = await Client.connect(h.server.url(echoReq), ["v5.channel.k8s.io"], { ca });
        await c.closed;
      } catch (e) {
        err = e;
      }
      expect(err, "a client without a certificate must fail").to.not.equal(undefined);
      const c = await Client.connect(h.server.url(echoReq), ["v5.channel.k8s.io"], {
        ca,
        cert: readFileSync(certFile),
        key: readFileSync(keyFile),
      });
      await c.closed;
      expect(c.text(1)).to.equal("over spdy\n");
    });
  });
});
