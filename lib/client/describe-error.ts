import { ControlChannelError } from "./control-channel";

/** A sentence for people from anything the control channel threw. */
export function describeError(error: unknown): string {
  if (error instanceof ControlChannelError) {
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
  return error instanceof Error ? error.message : "Something went wrong.";
}
