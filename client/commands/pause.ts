// `pause`: stop new triggers; the follower keeps observing and an in-flight close-out finishes.
import { pauseSignal } from '../../contract/messages.ts';
import { followerSignalCommand } from './follower-signal.ts';

export default followerSignalCommand(
  'pause',
  pauseSignal,
  'stop new triggers (it keeps observing; an in-flight close-out finishes)',
);
