// Tessera Android demo. One Gradle module, :app. The presentation logic lives in
// presentation/ (a tiny Maven project so CI can test it on the JVM without the Android SDK);
// the app compiles that source directory and the generated Kotlin package directly
// (see app/build.gradle.kts), so there is no second Gradle module to keep in step.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "tessera-android-demo"
include(":app")
