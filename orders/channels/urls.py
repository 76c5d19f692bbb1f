"""URLs of the channels pages."""

from django.urls import path

from orders.channels import views

urlpatterns = [
    path("channels/", views.channel_list, name="channel_list"),
    path("channels/new/", views.channel_create, name="channel_create"),
    path("channels/<str:channel_code>/", views.channel_detail, name="channel_detail"),
    path("channels/<str:channel_code>/edit/", views.channel_edit, name="channel_edit"),
    path("channels/<str:channel_code>/token/", views.channel_token, name="channel_token"),
    path(
        "channels/<str:channel_code>/webhook-secret/",
        views.channel_webhook_secret,
        name="channel_webhook_secret",
    ),
]
