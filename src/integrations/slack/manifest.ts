/**
 * The Slack app manifest for pql-router (https://docs.slack.dev/reference/app-manifest): the bot
 * scopes the jobs and handlers use, interactivity and the `/pql` command at `serve`'s
 * `/slack/events`, or Socket Mode. Pure.
 */
export function slackManifest(options: { publicUrl: string | null; socketMode: boolean }) {
  const base = (options.publicUrl ?? "https://pql-router.example.com").replace(/\/+$/, "");
  const events = `${base}/slack/events`;
  return {
    display_information: {
      name: "PQL Router",
      description: "Hot product-qualified accounts, routed to the right rep: claim in one click.",
      background_color: "#1d3557",
    },
    features: {
      bot_user: { display_name: "PQL Router", always_online: true },
      slash_commands: [
        {
          command: "/pql",
          description: "An account's PQL score, tier, PQR, reasons, owner and claim state",
          usage_hint: "<domain | name | account id>",
          should_escape: false,
          ...(options.socketMode ? {} : { url: events }),
        },
      ],
    },
    oauth_config: {
      scopes: {
        bot: [
          // post alerts, escalations and digests; replace them after a claim
          "chat:write",
          // post to public channels the bot was not invited to
          "chat:write.public",
          // read our own messages back (metadata) after an interrupted post
          "channels:history",
          "groups:history",
          // channel ids from the names in the config
          "channels:read",
          "groups:read",
          // the /pql command
          "commands",
        ],
      },
    },
    settings: {
      interactivity: options.socketMode ? { is_enabled: true } : { is_enabled: true, request_url: events },
      org_deploy_enabled: false,
      socket_mode_enabled: options.socketMode,
      token_rotation_enabled: false,
    },
  };
}
