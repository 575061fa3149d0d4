/**
 * The names an app-server call is signed with, on their own so that clients (lib/app-client and
 * its package) can use them without the server's authenticator and what it imports.
 */

/** Metadata keys of an app-server call (lowercase, as gRPC metadata keys are). */
export const AUTH_METADATA = { appId: "appid", identifier: "identifier", userSign: "usersign" } as const;

/** user_type of an app admin (spec §10.2 UserTypeEnum). */
export const APP_ADMIN_USER_TYPE = 100;
