/** Terminal progress: one status line (scenario, server, N, phase, elapsed) redrawn in place on a TTY. */
const started = performance.now();

export function elapsed(): string {
  const s = Math.floor((performance.now() - started) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

export class Progress {
  private scenario = "";
  private server = "";
  private step = "";
  private phase = "";
  private readonly tty = process.stdout.isTTY === true;
  private timer: NodeJS.Timeout | undefined;
  private lastPrinted = "";

  start(): void {
    if (this.tty) this.timer = setInterval(() => this.draw(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tty) process.stdout.write("\r\x1b[K");
  }

  set(o: { scenario?: string; server?: string; step?: string; phase?: string }): void {
    if (o.scenario !== undefined) this.scenario = o.scenario;
    if (o.server !== undefined) this.server = o.server;
    if (o.step !== undefined) this.step = o.step;
    if (o.phase !== undefined) this.phase = o.phase;
    this.draw();
  }

  /** A permanent line (a finished step), printed above the status line. */
  log(line: string): void {
    if (this.tty) process.stdout.write(`\r\x1b[K${line}\n`);
    else console.log(line);
    this.draw();
  }

  private draw(): void {
    const line = `[${elapsed()}] ${this.scenario} · ${this.server} · ${this.step} · ${this.phase}`;
    if (this.tty) {
      const width = process.stdout.columns ?? 120;
      process.stdout.write(`\r\x1b[K${line.slice(0, width - 1)}`);
    } else if (line.replace(/^\[[^\]]*\] /, "") !== this.lastPrinted) {
      this.lastPrinted = line.replace(/^\[[^\]]*\] /, "");
      console.log(line);
    }
  }
}
