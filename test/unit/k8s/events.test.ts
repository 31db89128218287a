// EventRecorder's backlog bound: an Event beyond it is dropped, but never silently.
import { EventRecorder, MAX_BACKLOG } from '../../../src/k8s/events';
import { RestClient } from '../../../src/k8s/rest';
import { createLogger } from '../../../src/util/log';

describe('EventRecorder backlog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.clearAllTimers();
    jest.useRealTimers();
  });

  test('a full backlog drops Events with one warning and counts each drop (the controller\'s metric)', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', write: (l) => lines.push(l) });
    // Nothing is written while concurrency is 0 (status writes running) and the oldest is < 2 s old.
    const client = new RestClient({ server: 'http://127.0.0.1:1', credentials: () => Promise.resolve({ tls: {}, headers: {} }) }, 1000);
    const rec = new EventRecorder(client, 'ironlb-controller', 'test', log);
    rec.concurrency = () => 0;
    let hook = 0;
    rec.onDropped = () => hook++;
    const target = { kind: 'Service', namespace: 'ns', name: 'svc', uid: 'u' };
    for (let i = 0; i < MAX_BACKLOG + 3; i++) rec.emit(target, 'Normal', 'IPAllocated', `Assigned IP ${i}`);
    expect(rec.dropped).toBe(3);
    expect(hook).toBe(3);
    const warned = lines.map((l) => JSON.parse(l) as { msg: string });
    expect(warned.map((w) => w.msg)).toEqual(['Event backlog full: Events are dropped until it drains']);
  });
});
