from django.conf import settings


def stockroom(request):
    return {"currency": settings.STOCKROOM_CURRENCY}
