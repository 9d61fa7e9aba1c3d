/**
 * The victim of `npm run attack` in a process of its own, as it would be on a machine of its
 * own: in the attacker's process its latencies would include the time that process spends on
 * the attack's own sockets (hundreds of milliseconds for a flood of them), which is not the
 * service's. Driven over IPC: `{ start }` begins a phase, `{ stop: true }` ends it and is
 * answered with the phase's figures.
 */
import { victim, type VictimFigures, type VictimStart } from './attack-clients.ts';

export type VictimMessage = { start: VictimStart } | { stop: true };

let controller: AbortController | undefined;
let running: Promise<VictimFigures> | undefined;

process.on('message', (message: VictimMessage) => {
  if ('start' in message) {
    controller = new AbortController();
    running = victim({ ...message.start, signal: controller.signal });
    process.send?.({ started: true });
    return;
  }
  controller?.abort();
  void running?.then((figures) => process.send?.({ figures }));
});
// The bench ends this process when it is done; if the bench dies first, so does this.
process.on('disconnect', () => process.exit(0));
