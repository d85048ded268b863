package dev.tessera.demo.presentation

/** The light margin around a QR code, in modules (ISO/IEC 18004 asks for 4; API.md too). */
const val QUIET_ZONE_MODULES = 4

/** A dark rectangle to draw, in module units, quiet zone included (origin top-left). */
data class ModuleRect(val x: Int, val y: Int, val width: Int, val height: Int)

/** The whole drawing's side in modules: the code plus the quiet zone on both sides. */
fun qrSideModules(qrSize: Int): Int = qrSize + 2 * QUIET_ZONE_MODULES

/**
 * The dark modules of a QR matrix (`Frame.qrModules`: `qrSize * qrSize` bytes, row-major,
 * 1 = dark) as rectangles to fill on a canvas scaled so one module is one unit.
 *
 * Horizontal runs of dark modules are merged into one rectangle: fewer draw calls than one
 * square per module, and no seam between neighbours where anti-aliasing would otherwise
 * leave a hairline on fractional pixel edges.
 */
fun darkRects(qrSize: Int, modules: ByteArray): List<ModuleRect> {
    require(qrSize >= 0 && modules.size == qrSize * qrSize) {
        "a ${qrSize}x$qrSize code needs ${qrSize * qrSize} modules, got ${modules.size}"
    }
    val rects = ArrayList<ModuleRect>()
    for (row in 0 until qrSize) {
        var col = 0
        while (col < qrSize) {
            if (modules[row * qrSize + col].toInt() == 0) {
                col++
                continue
            }
            val start = col
            while (col < qrSize && modules[row * qrSize + col].toInt() != 0) col++
            rects += ModuleRect(start + QUIET_ZONE_MODULES, row + QUIET_ZONE_MODULES, col - start, 1)
        }
    }
    return rects
}
