/**
 * emqx_auth_username: the users file (STARLING_USERS_FILE). Unloaded, it is not consulted:
 * every username is unknown, so anonymous access as configured decides. Loading reads the
 * file again (a bad file refuses the load and changes nothing), so reload picks up an edit.
 */
import type { Config } from '../../shared/config.js';
import { loadUsersFile, type Authenticator } from '../access/index.js';
import type { Feature } from './feature.js';

export function authUsernameFeature(cfg: Pick<Config, 'usersFile'>, auth: Authenticator): Feature {
  return {
    get active() {
      return auth.usersEnabled;
    },
    load() {
      if (!cfg.usersFile) throw new Error('no users file is configured (STARLING_USERS_FILE)');
      auth.setUsers(loadUsersFile(cfg.usersFile));
      auth.usersEnabled = true;
    },
    unload() {
      auth.usersEnabled = false;
    },
  };
}
