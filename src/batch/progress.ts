// Progress bar for batch runs, on stderr and only when stderr is a terminal: files and
// bytes done out of those found so far, rate, ETA. Redrawn at most a few times a second
// from a timer (the per-file path only updates counters). Lines printed through `log` clear
// the bar first, so messages and the bar never mix.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function fmtDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--:--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, '0'), ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Progress {
  private filesFound = 0;
  private bytesFound = 0;
  private filesDone = 0;
  private bytesDone = 0;
  private discovering = true;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private shown = false;
  readonly enabled: boolean;

  constructor(private readonly out: ProgressStream, enabled = out.isTTY === true, private readonly intervalMs = 200) {
    this.enabled = enabled;
    if (enabled) {
      this.timer = setInterval(() => this.draw(), intervalMs);
      this.timer.unref();
    }
  }

  found(bytes: number): void {
    this.filesFound++;
    this.bytesFound += bytes;
  }

  discoveryDone(): void {
    this.discovering = false;
  }

  done(bytes: number): void {
    this.filesDone++;
    this.bytesDone += bytes;
  }

  /** the bar's text (exposed for tests) */
  line(now = Date.now()): string {
    const width = Math.max(40, (this.out.columns || 80) - 1);
    const elapsed = Math.max(0.001, (now - this.started) / 1000);
    const rate = this.bytesDone / elapsed;
    const frac = this.bytesFound > 0 ? this.bytesDone / this.bytesFound : this.filesFound > 0 ? this.filesDone / this.filesFound : 0;
    const eta = this.discovering || this.bytesDone === 0 ? NaN : (this.bytesFound - this.bytesDone) / rate;
    const plus = this.discovering ? '+' : '';
    const text = ` ${this.filesDone}/${this.filesFound}${plus} files  ${fmtBytes(this.bytesDone)}/${fmtBytes(this.bytesFound)}${plus}` +
      `  ${fmtBytes(rate)}/s  ETA ${this.discovering ? '--:--' : fmtDuration(eta)}`;
    const barWidth = Math.max(10, Math.min(40, width - text.length - 2));
    const filled = Math.max(0, Math.min(barWidth, Math.round(frac * barWidth)));
    return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${text}`.slice(0, width);
  }

  draw(): void {
    if (!this.enabled) return;
    this.out.write('\r\x1b[2K' + this.line());
    this.shown = true;
  }

  private clear(): void {
    if (this.shown) {
      this.out.write('\r\x1b[2K');
      this.shown = false;
    }
  }

  /** Print a whole line (e.g. an error message) without garbling the bar. */
  log(s: string): void {
    this.clear();
    this.out.write(s.endsWith('\n') ? s : s + '\n');
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clear();
  }
}
