package dev.tessera.demo.platform

import android.util.Log
import dev.tessera.LogLevel
import dev.tessera.Logger
import dev.tessera.demo.Constants

/** The library's log lines to Logcat (`adb logcat -s tessera`). They carry no secrets. */
object LogcatLogger : Logger {
    override fun log(level: LogLevel, message: String) {
        val priority = when (level) {
            LogLevel.ERROR -> Log.ERROR
            LogLevel.WARN -> Log.WARN
            LogLevel.INFO -> Log.INFO
            LogLevel.DEBUG -> Log.DEBUG
        }
        Log.println(priority, Constants.LOG_TAG, message)
    }
}
