"""The public pages: server-rendered HTML and browser journeys in headless Chromium."""
