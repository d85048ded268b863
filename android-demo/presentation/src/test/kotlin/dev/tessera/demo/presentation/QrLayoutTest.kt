package dev.tessera.demo.presentation

import kotlin.random.Random
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class QrLayoutTest {
    private fun matrix(vararg rows: String): ByteArray =
        rows.joinToString("").map { if (it == '#') 1.toByte() else 0.toByte() }.toByteArray()

    @Test
    fun `runs of dark modules become one rectangle each, offset by the quiet zone`() {
        val m = matrix(
            "##.#",
            "....",
            ".###",
            "#..#",
        )
        val q = QUIET_ZONE_MODULES
        assertEquals(
            listOf(
                ModuleRect(q + 0, q + 0, 2, 1),
                ModuleRect(q + 3, q + 0, 1, 1),
                ModuleRect(q + 1, q + 2, 3, 1),
                ModuleRect(q + 0, q + 3, 1, 1),
                ModuleRect(q + 3, q + 3, 1, 1),
            ),
            darkRects(4, m),
        )
    }

    @Test
    fun `a run stops at the end of its row`() {
        // Row 0 ends dark and row 1 starts dark: two rectangles, not one wrapping around.
        val rects = darkRects(2, matrix(".#", "#."))
        assertEquals(listOf(ModuleRect(5, 4, 1, 1), ModuleRect(4, 5, 1, 1)), rects)
    }

    @Test
    fun `an all-light code draws nothing and the side includes both margins`() {
        assertEquals(emptyList<ModuleRect>(), darkRects(21, ByteArray(21 * 21)))
        assertEquals(29, qrSideModules(21))
    }

    @Test
    fun `rectangles cover exactly the dark modules of a random matrix`() {
        val rnd = Random(42)
        repeat(20) {
            val size = 21 + 4 * rnd.nextInt(0, 10)
            val modules = ByteArray(size * size) { if (rnd.nextBoolean()) 1 else 0 }
            val covered = BooleanArray(size * size)
            for (r in darkRects(size, modules)) {
                assertEquals(1, r.height)
                for (x in r.x until r.x + r.width) {
                    val i = (r.y - QUIET_ZONE_MODULES) * size + (x - QUIET_ZONE_MODULES)
                    assertTrue(!covered[i], "module $i drawn twice")
                    covered[i] = true
                }
            }
            for (i in modules.indices) assertEquals(modules[i].toInt() == 1, covered[i], "module $i")
        }
    }

    @Test
    fun `a matrix of the wrong length is refused`() {
        assertThrows<IllegalArgumentException> { darkRects(21, ByteArray(21 * 21 - 1)) }
    }
}
