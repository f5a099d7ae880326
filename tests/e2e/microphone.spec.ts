import { expect, test } from "@playwright/test";
import { closeAll, createSession, speakerSignedInContext } from "./support/earshot";

/**
 * What the speaker sees when the browser will not give the microphone. The
 * browser here always has its fake microphone, so the refusal is made in the
 * page: getUserMedia rejects with the DOMException a browser throws.
 */
for (const [name, message] of [
  ["NotAllowedError", /Microphone access was refused/],
  ["NotFoundError", /No microphone was found/],
] as const) {
  test(`Go live explains a ${name} from getUserMedia`, async ({ browser }) => {
    const speaker = await speakerSignedInContext(browser);
    try {
      const page = speaker.page;
      await createSession(page, `E2E ${name}`, "en");
      await page.evaluate((errorName) => {
        navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("refused in the test", errorName));
      }, name);
      await page.getByTestId("go-live-button").click();
      await expect(page.getByTestId("mic-error")).toHaveText(message);
      // Nothing went live, and the speaker can try again.
      await expect(page.getByTestId("broadcast-state")).toHaveAttribute("data-state", "off-air");
      await expect(page.getByTestId("go-live-button")).toBeEnabled();
    } finally {
      await closeAll(speaker.context);
    }
  });
}
