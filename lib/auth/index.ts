/** Public surface of request signing (spec §6.2). */
export {
  type GenerateUserSignInput,
  generateUserSign,
  type VerifyUserSignInput,
  verifyUserSign,
} from "./user-sign.js";
