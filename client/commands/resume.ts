// `resume`: allow triggers again and observe now.
import { resumeSignal } from '../../contract/messages.ts';
import { followerSignalCommand } from './follower-signal.ts';

export default followerSignalCommand('resume', resumeSignal, 'allow triggers again and observe now');
