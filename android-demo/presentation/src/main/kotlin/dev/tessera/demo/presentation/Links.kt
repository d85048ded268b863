package dev.tessera.demo.presentation

import java.net.URI
import java.net.URISyntaxException

private val TOKEN = Regex("[0-9a-f]{64}")

/**
 * The token of an email-verification link, for `Wallet.confirmEmail(token)`.
 *
 * Accepts what a person may have at hand: the whole link the issuer emails
 * (`tessera://verify-email?token=<64 hex>`, opened on the phone or pasted) or the bare token.
 * Anything else is null, so a typo is reported before a request goes out.
 */
fun verifyEmailToken(text: String): String? {
    val t = text.trim()
    if (TOKEN.matches(t)) return t
    val uri = try {
        URI(t)
    } catch (_: URISyntaxException) {
        return null
    }
    if (!uri.scheme.equals("tessera", ignoreCase = true) || !uri.host.equals("verify-email", ignoreCase = true)) {
        return null
    }
    val token = uri.rawQuery.orEmpty().split('&')
        .map { it.substringBefore('=') to it.substringAfter('=', "") }
        .firstOrNull { it.first == "token" }?.second
    return token?.takeIf { TOKEN.matches(it) }
}
