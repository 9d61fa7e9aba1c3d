/**
 * The victim of `npm run attack` in a process of its own, as it would be on a machine of its
 * own: in the attacker's process its latencies would include the time that process spends on
 * the attack's own sockets (hundreds of milliseconds for a flood of them), which is not the
 * service's. Driven over IPC: each `{ start }` runs one phase's requests and is answered with
 * the phase's figures once they are all in.
 */
import { victim, type VictimFigures, type VictimStart } from './attack-clients.ts';

export interface VictimMessage {
  start: VictimStart;
}

process.on('message', (message: VictimMessage) => {
  void victim(message.start).then((figures: VictimFigures) => process.send?.({ figures }));
});
// The bench ends this process when it is done; if the bench dies first, so does this.
process.on('disconnect', () => process.exit(0));
