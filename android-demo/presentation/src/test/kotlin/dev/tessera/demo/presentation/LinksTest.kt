package dev.tessera.demo.presentation

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test

class LinksTest {
    private val token = "0123456789abcdef".repeat(4)

    @Test
    fun `the token comes out of the emailed link`() {
        assertEquals(token, verifyEmailToken("tessera://verify-email?token=$token"))
        assertEquals(token, verifyEmailToken("  tessera://verify-email?token=$token\n"))
        assertEquals(token, verifyEmailToken("tessera://verify-email?utm=x&token=$token"))
    }

    @Test
    fun `a bare token is accepted`() {
        assertEquals(token, verifyEmailToken(token))
        assertEquals(token, verifyEmailToken(" $token "))
    }

    @Test
    fun `anything else is refused before a request goes out`() {
        assertNull(verifyEmailToken(""))
        assertNull(verifyEmailToken(token.dropLast(1)))
        assertNull(verifyEmailToken(token + "0"))
        assertNull(verifyEmailToken(token.uppercase()))
        assertNull(verifyEmailToken("tessera://accept-transfer?id=$token"))
        assertNull(verifyEmailToken("https://verify-email?token=$token"))
        assertNull(verifyEmailToken("tessera://verify-email?token=${token.dropLast(2)}"))
        assertNull(verifyEmailToken("tessera://verify-email?tok=$token"))
        assertNull(verifyEmailToken("tessera://verify email?token=$token"))
    }
}
