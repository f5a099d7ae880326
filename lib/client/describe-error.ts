import { isClientError } from "./errors";

/**
 * A sentence for people from anything the client threw: the control
 * channel's own failures get a sentence that says what to do; every other
 * ClientError (media, capture, recognizer) and the server's errors carry
 * their own message. `fallback` is for a thrown value that is not an Error.
 */
export function describeError(error: unknown, fallback = "Something went wrong."): string {
  if (isClientError(error) && error.kind === "control") {
    switch (error.code) {
      case "CONNECT_FAILED":
        return "Could not connect to Earshot. Check your connection and try again.";
      case "NOT_CONNECTED":
      case "CONNECTION_CLOSED":
        return "The connection dropped. Try again in a moment.";
      case "TIMEOUT":
        return "The server took too long to answer. Try again.";
      default:
        return error.message;
    }
  }
  return error instanceof Error ? error.message : fallback;
}
