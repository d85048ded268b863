package dev.tessera.demo.ui

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.layout.aspectRatio
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.Color
import dev.tessera.core.Frame
import dev.tessera.demo.presentation.darkRects
import dev.tessera.demo.presentation.qrSideModules
import kotlin.math.floor

/**
 * A frame's QR code drawn from its module matrix (`Frame.qrModules`), quiet zone included:
 * no image library, no bitmap, crisp at any size.
 */
@Composable
fun QrCode(frame: Frame, modifier: Modifier = Modifier) {
    val qrSize = frame.qrSize.toInt()
    val rects = remember(frame) { darkRects(qrSize, frame.qrModules) }
    val side = qrSideModules(qrSize)
    Canvas(modifier.aspectRatio(1f)) {
        // Whole pixels per module where the canvas allows, so module edges fall on pixel
        // edges (no grey seams for the gate's camera); centred in the space left over.
        val exact = size.minDimension / side
        val unit = if (exact >= 1f) floor(exact) else exact
        val origin = Offset(floor((size.width - unit * side) / 2), floor((size.height - unit * side) / 2))
        drawRect(Color.White, topLeft = origin, size = Size(unit * side, unit * side))
        for (r in rects) {
            drawRect(
                Color.Black,
                topLeft = Offset(origin.x + r.x * unit, origin.y + r.y * unit),
                size = Size(r.width * unit, r.height * unit),
            )
        }
    }
}
