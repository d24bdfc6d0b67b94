/**
 * The hosted password-reset page: a server-rendered form (one input, `password`) that a reset
 * link opens. No script, no external resources; the page cannot be framed, sends no Referer
 * (the link's secret is in its URL) and is never cached.
 */

const HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** HTML-escapes text for element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function page(title: string, body: string, status: number): Response {
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}label,input,button{display:block;width:100%;box-sizing:border-box}input,button{padding:.5rem;margin:.5rem 0 1rem}.error{color:#a00}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
  return new Response(html, { status, headers: HEADERS });
}

/** The form; `error` (a rule the last password broke) is shown above it. */
export function resetForm(action: string, secret: string, minLength: number, error?: string, status = 200): Response {
  return page(
    "Choose a new password",
    `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>\n` : ""}<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="token" value="${escapeHtml(secret)}">
<label for="password">New password (at least ${minLength} characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="${minLength}" required autofocus>
<button type="submit">Set password</button>
</form>`,
    status,
  );
}

export function resetDone(): Response {
  return page("Password changed", "<p>Your password has been changed and every session has been signed out. You can sign in with the new password now.</p>", 200);
}

export function resetUnusable(status = 400): Response {
  return page("This link cannot be used", "<p>This password-reset link is invalid, has already been used or has expired. Ask your administrator for a new one.</p>", status);
}
