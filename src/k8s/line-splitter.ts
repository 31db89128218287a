// A watch response's byte stream cut into lines (raw-informer.ts). Pure.
import { StringDecoder } from 'node:string_decoder';

/** Splits a byte stream into lines; a line (or a UTF-8 character) may span chunks. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';

  push(chunk: Buffer, line: (text: string) => void): void {
    const text = this.rest + this.decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const l = text.slice(start, nl).trim();
      start = nl + 1;
      if (l) line(l);
    }
    this.rest = text.slice(start);
  }

  end(line: (text: string) => void): void {
    const l = (this.rest + this.decoder.end()).trim();
    this.rest = '';
    if (l) line(l);
  }
}
