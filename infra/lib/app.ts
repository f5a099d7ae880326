import { Annotations, App, Validations, type AppProps } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { EarshotStack } from "./earshot-stack";
import { parseSettings, SETTING_KEYS, type EarshotSettings } from "./settings";

/** Builds the CDK app: settings from context, the stack, and cdk-nag's AWS Solutions checks. */
export function buildApp(props: AppProps = {}): { app: App; stack: EarshotStack; settings: EarshotSettings } {
  const app = new App(props);
  const context = Object.fromEntries(SETTING_KEYS.map((k) => [k, app.node.tryGetContext(k) as unknown]));
  const settings = parseSettings(context);
  const stack = new EarshotStack(app, settings.stackName, {
    settings,
    description: "Earshot: live one-to-many audio (control channel, session store, speaker sign-in, listener credentials)",
  });
  if (settings.publicUrlDefaulted) {
    Annotations.of(stack).addWarningV2(
      "earshot:publicUrlDefaulted",
      `publicUrl is not set: OAuth callbacks and join links use ${settings.publicUrl}. Deploy with -c publicUrl=https://your.domain`,
    );
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, settings };
}
