# Create the ruleset stream (once per NATS server), then your first flag: app 1, on, for everyone.
# Both commands use NATS at nats://127.0.0.1:4222 unless TAILSLIDE_NATS_SERVER or --nats-server says otherwise.
npx tailslide stream init
npx tailslide flags create checkout-v2 --app-id 1 --on --rollout 100
