// Recording bodies the simulated XAPI serves: a real RIFF/WAVE header (PCM 16-bit mono, 8 kHz,
// the telephony rate 3CX records at) followed by a generated tone, produced chunk by chunk so
// even a large "recording" is never held in memory. Each recording id gets its own pitch, so a
// recording attached to the wrong call shows in its bytes.
import { Readable } from 'node:stream';

export const WAV_HEADER_BYTES = 44;
const SAMPLE_RATE = 8000;
const BYTES_PER_SAMPLE = 2;
const CHUNK_BYTES = 16 * 1024;

export function wavHeader(dataBytes: number): Buffer {
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * BYTES_PER_SAMPLE, 28); // byte rate
  header.writeUInt16LE(BYTES_PER_SAMPLE, 32); // block align
  header.writeUInt16LE(8 * BYTES_PER_SAMPLE, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/** A whole WAV file of `totalBytes` (header included, rounded down to whole samples); `recordingId` picks the pitch. */
export function wavStream(totalBytes: number, recordingId = 0): Readable {
  const hz = 200 + (recordingId % 3700); // below the 4 kHz Nyquist limit
  const dataBytes = Math.max(0, totalBytes - WAV_HEADER_BYTES) & ~1;
  function* chunks(): Generator<Buffer> {
    yield wavHeader(dataBytes);
    let sample = 0;
    for (let sent = 0; sent < dataBytes; ) {
      const size = Math.min(CHUNK_BYTES, dataBytes - sent);
      const chunk = Buffer.alloc(size);
      for (let at = 0; at < size; at += BYTES_PER_SAMPLE, sample++) {
        chunk.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * sample) / SAMPLE_RATE)), at);
      }
      sent += size;
      yield chunk;
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

export function wavSize(totalBytes: number): number {
  return WAV_HEADER_BYTES + (Math.max(0, totalBytes - WAV_HEADER_BYTES) & ~1);
}
