import { describe, expect, it } from "vitest";
import { originAllowed } from "../src/signal/origin-policy.ts";

describe("originAllowed", () => {
  it("lets clients without an Origin header through (they are not browsers)", () => {
    expect(originAllowed(undefined, ["https://app.example"])).toBe(true);
  });

  it("loopback: pages served from this machine, on any port, and nothing else", () => {
    for (const o of ["http://localhost:3000", "https://localhost", "http://127.0.0.1:8000", "http://127.5.6.7", "http://[::1]:9000", "http://app.localhost:5173"]) {
      expect(originAllowed(o, ["loopback"]), o).toBe(true);
    }
    for (const o of ["https://evil.example", "http://localhost.evil.example", "http://127.0.0.1.evil.example", "null", "file://", "chrome-extension://abc", "http://192.168.1.20:3000"]) {
      expect(originAllowed(o, ["loopback"]), o).toBe(false);
    }
  });

  it("exact origins, case-insensitively, and * for any", () => {
    expect(originAllowed("https://App.Example", ["https://app.example"])).toBe(true);
    expect(originAllowed("https://app.example:8443", ["https://app.example"])).toBe(false);
    expect(originAllowed("http://localhost:3000", ["https://app.example"])).toBe(false); // the list replaces the default
    expect(originAllowed("https://anything.example", ["*"])).toBe(true);
  });
});
