from django.urls import path

urlpatterns: list = [
    # Scan stations (/scan/…) and label PDFs are added here.
]
