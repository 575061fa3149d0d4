/** Public surface of request signing (spec §6.2). */

export {
  assertNotRevoked,
  mirrorRevocation,
  REVOCATIONS_LOADED_KEY,
  revocationKey,
  TokenRevocations,
  type TokenRevocationsOptions,
} from "./token-revocations.js";
export {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  type GenerateUserSignInput,
  generateUserSign,
  type VerifiedUserSign,
  type VerifyUserSignInput,
  verifyUserSign,
} from "./user-sign.js";
